using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Domains;

namespace CloudDeck.Api.Edge;

/// <summary>
/// Every custom domain with its route and, once issued, its certificate ready for TLS handshakes, held in memory. It
/// follows <see cref="DomainChanges"/> live and reads the whole table from <see cref="IDomainRegistryGrain"/> each time
/// following (re)starts, so a new or renewed certificate is served without a restart and a removed domain stops at once.
/// A certificate is fetched from its domain grain only when its version changes.
/// </summary>
public sealed partial class DomainTable(IGrainFactory grains, ILogStreamProvider streams, ILogger<DomainTable> logger)
    : BackgroundService, ILogObserver<DomainChange>
{
    private readonly ConcurrentDictionary<string, DomainRoute> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ServedCertificate> _certificates = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A certificate as handshakes use it: one context (leaf, intermediates, key) shared by every connection.</summary>
    private sealed record ServedCertificate(long Version, SslServerAuthenticationOptions Options, X509Certificate2 Leaf);

    /// <summary>Completes once the table was first read (tests and the HTTPS listener's readiness wait on it).</summary>
    public Task Loaded => _loaded.Task;

    public DomainRoute? Find(string host) => _routes.GetValueOrDefault(host);

    /// <summary>The TLS options for <paramref name="host"/>'s own certificate, or null when this edge holds none for it.</summary>
    public SslServerAuthenticationOptions? CertificateFor(string host) => _certificates.TryGetValue(host, out var served) ? served.Options : null;

    public bool HasCertificate(string host) => _certificates.ContainsKey(host);

    public Task OnNextAsync(DomainChange item, LogPosition position)
    {
        Apply(item.Domain, item.Route);
        return Task.CompletedTask;
    }

    private void Apply(string domain, DomainRoute? route)
    {
        if (route is null)
        {
            _routes.TryRemove(domain, out _);
            Drop(domain);
            return;
        }

        _routes[domain] = route;
        if (route.CertificateVersion == 0 || !route.Verified) Drop(domain);
        else if (!_certificates.TryGetValue(domain, out var served) || served.Version < route.CertificateVersion) _ = LoadCertificateAsync(domain, route.CertificateVersion);
    }

    private void Drop(string domain)
    {
        if (_certificates.TryRemove(domain, out var served)) served.Leaf.Dispose();
    }

    private async Task LoadCertificateAsync(string domain, long version)
    {
        try
        {
            var certificate = await grains.GetGrain<IDomainGrain>(domain).GetCertificate();
            if (certificate is null || certificate.Version < version) return;
            var served = Build(certificate);
            // Only a newer one replaces what is served; a late answer for an older version is thrown away.
            while (true)
            {
                if (!_routes.TryGetValue(domain, out var route) || route.CertificateVersion == 0)
                {
                    served.Leaf.Dispose();
                    return;
                }

                if (_certificates.TryGetValue(domain, out var current))
                {
                    if (current.Version >= served.Version)
                    {
                        served.Leaf.Dispose();
                        return;
                    }

                    if (!_certificates.TryUpdate(domain, served, current)) continue;
                    current.Leaf.Dispose();
                }
                else if (!_certificates.TryAdd(domain, served))
                {
                    continue;
                }

                LogCertificateLoaded(logger, domain, version, served.Leaf.NotAfter);
                return;
            }
        }
        catch (Exception e)
        {
            LogCertificateFailed(logger, e, domain, version);
        }
    }

    /// <summary>The leaf with its key, and the rest of the chain sent along in every handshake.</summary>
    public static SslServerAuthenticationOptions TlsOptions(string chainPem, string keyPem, out X509Certificate2 leaf)
    {
        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(chainPem);
        leaf = X509Certificate2.CreateFromPem(chainPem, keyPem);
        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < chain.Count; i++) intermediates.Add(chain[i]);
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(leaf, intermediates, offline: true),
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
        };
    }

    private static ServedCertificate Build(DomainCertificate certificate)
    {
        var options = TlsOptions(certificate.ChainPem, certificate.KeyPem, out var leaf);
        return new ServedCertificate(certificate.Version, options, leaf);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stream = streams.GetStream<DomainChange>(DomainChanges.Namespace, DomainChanges.Key);
        while (!stoppingToken.IsCancellationRequested)
        {
            LogSubscription? subscription = null;
            try
            {
                // Subscribed first, then the whole table read: a change made in between arrives through the stream and is
                // applied again after the read, which writes what the registry held at that moment or later.
                var from = new LogPosition((await stream.GetInfoAsync()).Last + 1);
                subscription = await stream.SubscribeAsync(this, from);
                var all = await grains.GetGrain<IDomainRegistryGrain>(0).List();
                var listed = all.Select(r => r.Domain).ToHashSet(StringComparer.Ordinal);
                foreach (var gone in _routes.Keys.Where(d => !listed.Contains(d)).ToList()) Apply(gone, null);
                foreach (var route in all) Apply(route.Domain, route);
                _loaded.TrySetResult();
                LogFollowing(logger, all.Count, from.SequenceNumber);
                await subscription.Completion.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // What is held keeps serving (a domain's certificate outlives a stream outage); the next read catches up.
                LogFollowFailed(logger, e);
            }
            finally
            {
                if (subscription is not null) await subscription.DisposeAsync();
            }

            await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    public override void Dispose()
    {
        foreach (var served in _certificates.Values) served.Leaf.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Edge follows domain changes ({Count} domains) from {Position}")]
    private static partial void LogFollowing(ILogger logger, int count, long position);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Following domain changes failed; trying again")]
    private static partial void LogFollowFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Edge serves certificate version {Version} for {Domain} (expires {NotAfter})")]
    private static partial void LogCertificateLoaded(ILogger logger, string domain, long version, DateTime notAfter);

    [LoggerMessage(Level = LogLevel.Error, Message = "The edge could not load certificate version {Version} for {Domain}")]
    private static partial void LogCertificateFailed(ILogger logger, Exception exception, string domain, long version);
}
