using System.Security.Cryptography;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Domains;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Deployments;
using CloudDeck.Grains.Projects;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Domains;

/// <summary>
/// One custom domain (<see cref="IDomainGrain"/>): who holds it, its verification, its certificate (sealed at rest) and
/// its reminder. Its route is mirrored in <see cref="IDomainRegistryGrain"/>, from which every edge learns it.
/// </summary>
public sealed partial class DomainGrain(
    [PersistentState("domain")] IPersistentState<DomainState> state,
    DomainOptions options,
    DnsVerifier dns,
    AcmeHttp acme,
    SecretsKey secrets,
    EdgeUrlOptions edge,
    ILogger<DomainGrain> logger,
    TimeProvider clock) : Grain, IDomainGrain, IRemindable
{
    public const string CheckReminder = "domain-check";

    private DomainState Domain => state.State;

    private string Name => this.GetPrimaryKeyString();

    private IDomainRegistryGrain Registry => GrainFactory.GetGrain<IDomainRegistryGrain>(0);

    public async Task<DomainView> Add(Caller caller, string projectKey, DomainSettings settings)
    {
        if (DomainNames.Problem(Name, edge.BaseDomain) is { } problem) throw new InvalidFieldException("domain", problem);
        await AuthorizeAsync(caller, projectKey, OrganizationActions.Deploy);
        var project = await GrainFactory.GetGrain<IProjectGrain>(projectKey).Get(caller);
        if (Domain.ProjectKey is { } owner)
        {
            // Never says which project or tenant holds it.
            if (owner != projectKey) throw new ConflictException($"The domain '{Name}' is already in use by another project.");
            return View();
        }

        var redirect = CheckSettings(settings, DomainRedirects.None);
        var version = Domain.CertificateVersion;
        state.State = new DomainState
        {
            ProjectKey = projectKey,
            ProductionHost = project.ProductionHost,
            Token = "clouddeck-verify=" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            CreatedAt = clock.GetUtcNow(),
            Hsts = settings.Hsts ?? false,
            Redirect = redirect,
            CertificateVersion = version,
        };
        await state.WriteStateAsync();
        await PublishRouteAsync();
        await this.RegisterOrUpdateReminder(CheckReminder, options.CheckPeriod, options.CheckPeriod);
        LogAdded(logger, Name, projectKey);
        await CheckDnsAsync();
        return View();
    }

    public async Task<DomainView> Get(Caller caller, string projectKey)
    {
        await AuthorizeAsync(caller, projectKey, OrganizationActions.ViewBuilds);
        RequireOwner(projectKey);
        return View();
    }

    public async Task<DomainView> Update(Caller caller, string projectKey, DomainSettings settings)
    {
        await AuthorizeAsync(caller, projectKey, OrganizationActions.Deploy);
        RequireOwner(projectKey);
        Domain.Redirect = CheckSettings(settings, Domain.Redirect);
        Domain.Hsts = settings.Hsts ?? Domain.Hsts;
        await state.WriteStateAsync();
        await PublishRouteAsync();
        return View();
    }

    public async Task<DomainView> Verify(Caller caller, string projectKey)
    {
        await AuthorizeAsync(caller, projectKey, OrganizationActions.Deploy);
        RequireOwner(projectKey);
        await CheckDnsAsync();
        if (Domain.Verified && NeedsCertificate())
        {
            // Asked for by a person: now, whatever the back-off said.
            Domain.NextAttemptAt = null;
            StartIssuance();
        }

        return View();
    }

    public async Task Remove(Caller caller, string projectKey)
    {
        await AuthorizeAsync(caller, projectKey, OrganizationActions.Deploy);
        RequireOwner(projectKey);
        await ReleaseAsync(projectKey);
    }

    public Task Release(string projectKey) => Domain.ProjectKey == projectKey ? ReleaseAsync(projectKey) : Task.CompletedTask;

    private async Task ReleaseAsync(string projectKey)
    {
        state.State = new DomainState { CertificateVersion = Domain.CertificateVersion };
        await state.WriteStateAsync();
        await Registry.Remove(Name, projectKey);
        if (await this.GetReminder(CheckReminder) is { } reminder) await this.UnregisterReminder(reminder);
        LogRemoved(logger, Name, projectKey);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == CheckReminder) await Check();
    }

    /// <summary>A DNS check now; a domain that became verified is announced (the edge serves it from then on).</summary>
    private async Task CheckDnsAsync()
    {
        if (Domain.Verified) return;
        var problem = await dns.ProblemAsync(Name, Domain.Token, CancellationToken.None);
        var now = clock.GetUtcNow();
        Domain.CheckedAt = now;
        Domain.VerificationProblem = problem;
        if (problem is null)
        {
            Domain.Verified = true;
            Domain.VerifiedAt = now;
            Domain.CertificateStatus = options.Acme.Enabled ? CertificateStatuses.Pending : CertificateStatuses.None;
            LogVerified(logger, Name);
        }

        await state.WriteStateAsync();
        if (problem is null)
        {
            await PublishRouteAsync();
            if (NeedsCertificate()) StartIssuance();
        }
    }

    private string CheckSettings(DomainSettings settings, string current)
    {
        var redirect = settings.Redirect ?? current;
        if (!DomainRedirects.All.Contains(redirect)) throw new InvalidFieldException("redirect", $"must be one of {string.Join(", ", DomainRedirects.All)}");
        if (redirect == DomainRedirects.ToWww && Name.StartsWith("www.", StringComparison.Ordinal))
        {
            throw new InvalidFieldException("redirect", $"{DomainRedirects.ToWww} is for an apex domain; '{Name}' already starts with www.");
        }

        if (redirect == DomainRedirects.ToApex && !Name.StartsWith("www.", StringComparison.Ordinal))
        {
            throw new InvalidFieldException("redirect", $"{DomainRedirects.ToApex} is for a www domain; '{Name}' does not start with www.");
        }

        return redirect;
    }

    private async Task AuthorizeAsync(Caller caller, string projectKey, string action)
    {
        var (organization, _) = ProjectKeys.Split(projectKey);
        await GrainFactory.GetGrain<IOrganizationGrain>(organization).Authorize(caller, action);
    }

    private void RequireOwner(string projectKey)
    {
        if (Domain.ProjectKey != projectKey) throw new NotFoundException($"The project has no domain '{Name}'.");
    }

    private Task PublishRouteAsync() => Registry.Put(new DomainRoute(Name, Domain.ProjectKey!, Domain.ProductionHost!, Domain.Verified,
        Domain.SealedChain is null ? 0 : Domain.CertificateVersion, Domain.Hsts, Domain.Redirect));

    private DomainView View() => new(
        Name,
        Domain.ProjectKey is { } key ? ProjectKeys.Split(key).Project : "",
        Domain.Verified ? DomainStatuses.Verified : DomainStatuses.Pending,
        new DomainVerificationView(DomainNames.ChallengeName(Name), Domain.Token, options.CnameTarget ?? options.EdgeAddresses.FirstOrDefault() ?? "",
            Domain.CheckedAt, Domain.VerificationProblem),
        new CertificateView(Domain.CertificateStatus, Domain.Issuer, Domain.NotBefore, Domain.NotAfter, Domain.NotAfter - options.RenewBefore,
            Domain.CertificateError, Domain.FailedAttempts, Domain.NextAttemptAt),
        Domain.Hsts,
        Domain.Redirect,
        Domain.CreatedAt,
        Domain.VerifiedAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Domain {Domain} added to {Project}")]
    private static partial void LogAdded(ILogger logger, string domain, string project);

    [LoggerMessage(Level = LogLevel.Information, Message = "Domain {Domain} removed from {Project}")]
    private static partial void LogRemoved(ILogger logger, string domain, string project);

    [LoggerMessage(Level = LogLevel.Information, Message = "Domain {Domain} verified")]
    private static partial void LogVerified(ILogger logger, string domain);
}
