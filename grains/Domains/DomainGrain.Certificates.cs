using System.Security.Cryptography;
using CloudDeck.GrainInterfaces.Domains;
using CloudDeck.Grains.Acme;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Domains;

/// <summary>
/// Certificates: ordered once the domain is verified, renewed <see cref="DomainOptions.RenewBefore"/> before expiry, a
/// failed order tried again after a back-off that doubles (or what the server's Retry-After asks, if longer). The held
/// certificate keeps being served while a renewal fails; nothing half-issued is ever stored.
/// </summary>
public sealed partial class DomainGrain
{
    /// <summary>HTTP-01 tokens of the order under way → key authorizations; memory only, as the order runs in this activation.</summary>
    private readonly Dictionary<string, string> _challenges = new(StringComparer.Ordinal);
    private bool _issuing;
    private IGrainTimer? _issueTimer;

    private string CertificateContext => "domain-certificate/" + Name;

    public async Task<DomainView?> Check()
    {
        if (Domain.ProjectKey is null)
        {
            if (await this.GetReminder(CheckReminder) is { } reminder) await this.UnregisterReminder(reminder);
            return null;
        }

        await CheckDnsAsync();
        if (Domain.Verified && NeedsCertificate() && (Domain.NextAttemptAt is not { } next || clock.GetUtcNow() >= next)) await IssueAsync();
        return View();
    }

    public Task<string?> GetChallengeAnswer(string token) => Task.FromResult(_challenges.GetValueOrDefault(token));

    public Task<DomainCertificate?> GetCertificate() => Task.FromResult(Domain is { ProjectKey: not null, SealedChain: { } chain, SealedKey: { } key, NotAfter: { } notAfter }
        ? new DomainCertificate(Name, secrets.Decrypt(chain, CertificateContext), secrets.Decrypt(key, CertificateContext), notAfter, Domain.CertificateVersion)
        : null);

    private bool NeedsCertificate() => options.Acme.Enabled && (Domain.NotAfter is not { } notAfter || clock.GetUtcNow() >= notAfter - options.RenewBefore);

    /// <summary>Orders in a turn of its own, so the call that asked (a verify) answers at once and the order's progress shows in the view.</summary>
    private void StartIssuance()
    {
        if (_issuing || _issueTimer is not null) return;
        _issueTimer = this.RegisterGrainTimer(static async (grain, _) =>
        {
            grain._issueTimer?.Dispose();
            grain._issueTimer = null;
            await grain.IssueAsync();
        }, this, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private async Task IssueAsync()
    {
        if (_issuing || Domain.ProjectKey is null || !Domain.Verified) return;
        _issuing = true;
        if (Domain.SealedChain is null) Domain.CertificateStatus = CertificateStatuses.Pending;
        try
        {
            var certificate = await OrderAsync(retryWithNewAccount: true);
            Domain.SealedChain = secrets.Encrypt(certificate.ChainPem, CertificateContext);
            Domain.SealedKey = secrets.Encrypt(certificate.KeyPem, CertificateContext);
            Domain.NotBefore = certificate.NotBefore;
            Domain.NotAfter = certificate.NotAfter;
            Domain.Issuer = certificate.Issuer;
            Domain.CertificateVersion++;
            Domain.CertificateStatus = CertificateStatuses.Issued;
            Domain.CertificateError = null;
            Domain.FailedAttempts = 0;
            Domain.NextAttemptAt = null;
            await state.WriteStateAsync();
            await PublishRouteAsync();
            LogIssued(logger, Name, certificate.NotAfter, Domain.CertificateVersion);
        }
        catch (Exception e) when (e is AcmeException or HttpRequestException or OperationCanceledException or CryptographicException)
        {
            await FailAsync(e switch
            {
                AcmeException acme => (acme.Message, acme.RetryAfter),
                HttpRequestException http => ($"The ACME server could not be reached: {http.Message}", null),
                OperationCanceledException => ("The ACME server did not answer in time.", null),
                _ => ($"The certificate could not be read: {e.Message}", (TimeSpan?)null),
            });
        }
        finally
        {
            _challenges.Clear();
            _issuing = false;
        }
    }

    private async Task<AcmeCertificate> OrderAsync(bool retryWithNewAccount)
    {
        var accounts = GrainFactory.GetGrain<IAcmeAccountGrain>(options.Acme.DirectoryUrl);
        var account = await accounts.GetOrCreate();
        using var key = ECDsa.Create();
        key.ImportFromPem(account.KeyPem);
        var client = new AcmeClient(acme.Client, new Uri(options.Acme.DirectoryUrl), key) { AccountUrl = account.AccountUrl };
        using var timeout = new CancellationTokenSource(options.Acme.OrderTimeout + TimeSpan.FromSeconds(30));
        try
        {
            if (client.AccountUrl is null) await accounts.SetAccountUrl(await client.EnsureAccountAsync(options.Acme.ContactEmail, timeout.Token));
            return await AcmeIssuer.IssueAsync(client, [Name], (token, answer) =>
            {
                _challenges[token] = answer;
                return Task.CompletedTask;
            }, options.Acme.OrderTimeout, timeout.Token);
        }
        catch (AcmeException e) when (e.Type == "accountDoesNotExist" && retryWithNewAccount)
        {
            // The server forgot the account (a test server restarted, an account deactivated): register the key again.
            await accounts.SetAccountUrl(null);
            return await OrderAsync(retryWithNewAccount: false);
        }
    }

    private async Task FailAsync((string Reason, TimeSpan? RetryAfter) failure)
    {
        Domain.FailedAttempts++;
        var backoff = TimeSpan.FromTicks(Math.Min(options.MaxRetryDelay.Ticks,
            options.FirstRetryDelay.Ticks * (1L << Math.Min(Domain.FailedAttempts - 1, 20))));
        if (failure.RetryAfter is { } asked && asked > backoff) backoff = asked;
        Domain.CertificateError = failure.Reason;
        Domain.NextAttemptAt = clock.GetUtcNow() + backoff;
        // A held certificate still serves while its renewal fails; the error and the next attempt say what is going on.
        if (Domain.SealedChain is null) Domain.CertificateStatus = CertificateStatuses.Failed;
        await state.WriteStateAsync();
        LogOrderFailed(logger, Name, Domain.FailedAttempts, failure.Reason, Domain.NextAttemptAt.Value);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Certificate for {Domain} issued (expires {NotAfter}, version {Version})")]
    private static partial void LogIssued(ILogger logger, string domain, DateTimeOffset notAfter, long version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Certificate order for {Domain} failed (attempt {Attempt}): {Reason}; next attempt at {NextAttemptAt}")]
    private static partial void LogOrderFailed(ILogger logger, string domain, int attempt, string reason, DateTimeOffset nextAttemptAt);
}
