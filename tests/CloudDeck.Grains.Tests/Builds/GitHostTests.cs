using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Builds.Executor;
using CloudDeck.Grains.Projects;
using CloudDeck.Grains.Tests.Projects;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// A project's git URL cannot make the platform connect to internal addresses (issue 22): refused when set if its host
/// resolves to a non-public address, refused again at fetch time after resolving, and git connects to the very
/// addresses checked. Some tests give the silo a resolver of their own (a fake DNS, said in their names): the system's
/// resolver here cannot be made to answer one way and then another.
/// </summary>
public sealed class GitHostTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("https://127.0.0.1/acme/web.git")]
    [InlineData("https://localhost/acme/web.git")]
    [InlineData("https://10.20.30.40/acme/web.git")]
    [InlineData("https://172.16.0.9:8443/acme/web.git")]
    [InlineData("https://192.168.1.1/acme/web.git")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("https://100.64.0.1/acme/web.git")]
    [InlineData("https://0.0.0.0/acme/web.git")]
    [InlineData("https://224.0.0.1/acme/web.git")]
    [InlineData("https://2130706433/acme/web.git")]
    [InlineData("https://[::1]/acme/web.git")]
    [InlineData("https://[fd00::1]/acme/web.git")]
    [InlineData("https://[fe80::1]/acme/web.git")]
    [InlineData("https://[::ffff:127.0.0.1]/acme/web.git")]
    [InlineData("https://[64:ff9b::a00:1]/acme/web.git")]
    [InlineData("ssh://git@10.0.0.1/acme/web.git")]
    [InlineData("git@127.0.0.1:acme/web.git")]
    public async Task A_git_url_whose_host_is_or_resolves_to_a_non_public_address_is_refused_on_create_and_update_naming_git_url(string url)
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var refused = await Assert.ThrowsAsync<InvalidFieldException>(() =>
            silo.Grains.GetGrain<IProjectGrain>("acme/web").Create(owner, new ProjectSettings(GitUrl: url)));
        Assert.Equal("git_url", refused.Field);
        Assert.Contains("non-public address", refused.Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Projects:AllowedGitHosts", refused.Message, StringComparison.Ordinal);

        var site = silo.Grains.GetGrain<IProjectGrain>("acme/site");
        await site.Create(owner, new ProjectSettings(GitUrl: "https://git.example.test/acme/site.git"));
        Assert.Equal("git_url", (await Assert.ThrowsAsync<InvalidFieldException>(() => site.Update(owner, new ProjectSettings(GitUrl: url)))).Field);
        Assert.Equal("https://git.example.test/acme/site.git", (await site.Get(owner)).GitUrl);
    }

    [Fact]
    public async Task The_operator_allows_private_git_hosts_by_name_by_range_or_all_at_once()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync(settings: new Dictionary<string, string?>
        {
            ["CloudDeck:Projects:AllowedGitHosts"] = "localhost, 10.20.0.0/16, fd00:1::/64",
        });
        await using (silo)
        {
            foreach (var (name, url) in new[]
                     {
                         ("by-name", "https://localhost/acme/web.git"), ("by-range", "https://10.20.30.40/acme/web.git"),
                         ("by-range-6", "https://[fd00:1::5]/acme/web.git"),
                     })
            {
                Assert.Equal(url, (await silo.Grains.GetGrain<IProjectGrain>($"acme/{name}").Create(owner, new ProjectSettings(GitUrl: url))).GitUrl);
            }

            Assert.Equal("git_url", (await Assert.ThrowsAsync<InvalidFieldException>(() => silo.Grains.GetGrain<IProjectGrain>("acme/other")
                .Create(owner, new ProjectSettings(GitUrl: "https://10.21.0.1/acme/web.git")))).Field);
        }

        var (open, openOwner) = await ProjectsSilo.StartAsync(settings: new Dictionary<string, string?> { ["CloudDeck:Projects:AllowPrivateGitHosts"] = "true" });
        await using (open)
        {
            await open.Grains.GetGrain<IProjectGrain>("acme/web").Create(openOwner, new ProjectSettings(GitUrl: "https://127.0.0.1/acme/web.git"));
        }

        var wrong = Assert.Throws<InvalidOperationException>(() => ProjectOptions.Read(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["CloudDeck:Projects:AllowedGitHosts"] = "10.0.0.0/33" }).Build()));
        Assert.Contains("CloudDeck:Projects:AllowedGitHosts", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_machines_own_addresses_and_the_non_public_ranges_are_told_from_public_ones()
    {
        var own = NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(u => u.Address).ToList();
        Assert.NotEmpty(own);
        Assert.All(own, address => Assert.True(NonPublicAddresses.IsOwn(address), $"{address} is this machine's"));
        foreach (var text in new[] { "93.184.216.34", "8.8.8.8", "2606:4700::1111", "1.1.1.1" })
        {
            var address = IPAddress.Parse(text);
            Assert.False(NonPublicAddresses.IsNonPublic(address), text);
            Assert.False(NonPublicAddresses.IsOwn(address), text);
        }

        foreach (var text in new[] { "127.0.0.2", "10.1.1.1", "172.31.255.255", "192.168.0.1", "169.254.1.1", "100.127.255.255", "0.0.0.0", "239.1.1.1",
                     "255.255.255.255", "::", "::1", "fc00::1", "fdff::1", "fe80::1", "ff02::1", "::ffff:10.0.0.1", "2002:a00:1::1" })
        {
            Assert.True(NonPublicAddresses.IsNonPublic(IPAddress.Parse(text)), text);
        }
    }

    [Fact]
    public async Task A_build_refuses_a_host_that_rebinds_to_loopback_after_the_check_on_create_with_a_fake_resolver_and_says_the_same_for_open_and_closed_ports()
    {
        Need.Component(Requirement.Check(Tools.Has("git"), "git", "apt-get install git"));
        // A service listening on the platform's loopback, and a port where nothing listens.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var openPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        var closedPort = ChildProcess.FreeTcpPort();
        var accepted = 0;
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using var client = await listener.AcceptTcpClientAsync(Cancellation);
                    Interlocked.Increment(ref accepted);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // The listener stopped with the test.
            }
        }, Cancellation);
        var dns = new RebindingDns(IPAddress.Parse("93.184.216.34"), IPAddress.Loopback);
        await using var silo = await BuildSilo.StartAsync(services: services => services.AddSingleton<GitHostResolver>(dns.ResolveAsync));
        var (owner, org) = await silo.SignUpAsync("olive@example.com");

        var outcomes = new List<(string Status, string? Error, IReadOnlyList<string> Lines)>();
        foreach (var (name, port) in new[] { ("open", openPort), ("closed", closedPort) })
        {
            // Public when the URL is set: accepted.
            await silo.CreateProjectAsync(owner, org, name, new ProjectSettings(GitUrl: $"https://{name}.rebind.example:{port}/acme/web.git"));
            var (build, _, queued) = await silo.QueueAsync(owner, org, name, new DeploymentSource(GitRef: "main"));
            var log = await silo.LogUntilEndAsync(queued.Id);
            var ended = await build.Get(owner);
            // From the clone on, with the port (the only difference the caller made) taken out.
            var lines = log.Select(l => l.Text).SkipWhile(t => !t.StartsWith("Cloning ", StringComparison.Ordinal))
                .Select(t => t.Replace($"{name}.rebind.example:{port}", "HOST", StringComparison.Ordinal)).ToList();
            outcomes.Add((ended.Status, ended.Error, lines));
        }

        Assert.All(outcomes, outcome =>
        {
            Assert.Equal(BuildStatuses.Failed, outcome.Status);
            Assert.Contains(GitHostPolicy.Refusal, outcome.Error, StringComparison.Ordinal);
            Assert.Contains(outcome.Lines, line => line.Contains(GitHostPolicy.Refusal, StringComparison.Ordinal));
        });
        Assert.Equal(outcomes[0].Lines, outcomes[1].Lines);
        Assert.Equal(outcomes[0].Error, outcomes[1].Error);
        Assert.Equal(0, Volatile.Read(ref accepted));
        Assert.True(dns.Lookups("open.rebind.example") >= 2, "the build resolved the host again at fetch time");
    }

    [Fact]
    public async Task Git_connects_to_the_address_that_was_checked_without_resolving_the_host_itself_with_a_fake_resolver()
    {
        Need.Component(Requirement.Check(Tools.Has("git"), "git", "apt-get install git"));
        await using var silo = await BuildSilo.StartAsync();
        var root = silo.Directory;
        const string host = "git.pinned.example";
        await using var server = await GitHttpsServer.StartAsync(Directory.CreateDirectory(Path.Combine(root, "served")).FullName, IPAddress.Loopback, host,
            "ci", "s3cret-Pa55");
        await server.CreateRepositoryAsync("site", new Dictionary<string, string> { ["index.html"] = "served over https" });
        var url = $"https://ci:s3cret-Pa55@{host}:{server.Port}/site.git";
        var environment = new Dictionary<string, string> { ["GIT_SSL_CAINFO"] = server.CaCertificatePath, ["HOME"] = root, ["PATH"] = Environment.GetEnvironmentVariable("PATH")! };

        // The name means nothing to the system's resolver: git on its own cannot get there.
        var unpinned = await Assert.ThrowsAsync<InvalidOperationException>(() => Tools.RunAsync("git", ["ls-remote", url], root, environment));
        Assert.Contains("resolve", unpinned.Message, StringComparison.OrdinalIgnoreCase);

        // The platform resolves it (here to the loopback address the operator allowed) and hands git that address.
        var dns = new RebindingDns(IPAddress.Loopback, IPAddress.Loopback);
        var policy = new GitHostPolicy(new ProjectOptions { AllowedGitNetworks = [IPNetwork.Parse("127.0.0.1/32")] }, dns.ResolveAsync);
        var destination = Path.Combine(root, "clone");
        var log = new BuildLogWriter(silo.Streams.GetStream<BuildLogLine>(BuildLogs.Namespace, BuildIds.New()), TimeProvider.System, NullLogger.Instance);
        await log.StartAsync();
        log.Masker.AddUrl(url);
        await SourceFetcher.FetchGitAsync(url, "main", destination, environment, allowFile: false, policy, log, Cancellation);
        await log.DisposeAsync();

        Assert.Equal("served over https", await File.ReadAllTextAsync(Path.Combine(destination, "index.html"), Cancellation));
        Assert.Equal(1, dns.Lookups(host));
        Assert.True(server.Requests > 0);
    }

    /// <summary>A fake DNS: a name's first lookup answers <c>first</c>, every later one <c>then</c>; lookups are counted.</summary>
    private sealed class RebindingDns(IPAddress first, IPAddress then)
    {
        private readonly ConcurrentDictionary<string, int> _lookups = new(StringComparer.Ordinal);

        public int Lookups(string host) => _lookups.GetValueOrDefault(host);

        public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
        {
            var count = _lookups.AddOrUpdate(host, 1, (_, n) => n + 1);
            return Task.FromResult<IPAddress[]>([count == 1 ? first : then]);
        }
    }
}
