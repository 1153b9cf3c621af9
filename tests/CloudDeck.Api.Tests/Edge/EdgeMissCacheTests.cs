using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using CloudDeck.Api.Edge;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>
/// The edge remembers misses (issue 21): the real API with its embedded silo on SQLite, real deployments and the real
/// alias stream. Random hosts cost no activation each; a host that appears is served as soon as its announcement
/// arrives, whatever negative entry the edge held; a deleted deployment's 404 comes from memory.
/// </summary>
public sealed class EdgeMissCacheTests : IAsyncDisposable
{
    private const int FloodPerKind = 20_000;

    // Negative entries that outlive every wait below: only the invalidation can explain a host being served.
    private const string MetricsToken = "edge-miss-metrics-token-0123456789abcdef";

    private readonly EdgeHost _edge = new(new Dictionary<string, string?>
    {
        ["CloudDeck:Edge:NegativeCacheTtl"] = "00:10:00",
        ["CloudDeck:Management:MetricsToken"] = MetricsToken,
        // One build at a time, so a synthetic build holding the slot keeps a deployment building as long as a test needs.
        ["CloudDeck:Plans:Hobby:ConcurrentBuilds"] = "1",
    });

    [Fact]
    public async Task A_flood_of_random_deployment_hosts_and_unknown_custom_hosts_activates_no_grain_per_host_and_a_known_host_still_serves()
    {
        await FloodAsync(_edge);

        // The caches' limits and hit counts reach /metrics (summed over every edge in this test process, hence "at least").
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://localhost/metrics");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", MetricsToken);
        using var response = await _edge.Http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var metrics = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(Sample(metrics, "clouddeck_edge_cache_lookups_total", "cache=\"missing_deployments\"", "result=\"hit\"") >= 500, metrics);
        Assert.True(Sample(metrics, "clouddeck_edge_cache_lookups_total", "cache=\"aliases\"", "result=\"miss\"") >= FloodPerKind, metrics);
        Assert.True(Sample(metrics, "clouddeck_edge_cache_limit", "cache=\"aliases\"") >= 100_000, metrics);
        Assert.True(Sample(metrics, "clouddeck_edge_cache_size", "cache=\"missing_deployments\"") >= FloodPerKind, metrics);
    }

    /// <summary>The value of the first sample of <paramref name="name"/> with all of <paramref name="labels"/> (-1 if none).</summary>
    private static double Sample(string metrics, string name, params string[] labels)
    {
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(name + "{", StringComparison.Ordinal) && labels.All(label => l.Contains(label, StringComparison.Ordinal)));
        if (line is null) return -1;
        var value = line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0];
        return double.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The acceptance flood, on whichever storage <paramref name="edge"/> runs (SQLite here, PostgreSQL below).</summary>
    internal static async Task FloodAsync(EdgeHost edge)
    {
        var known = await edge.PublishAsync(new Dictionary<string, byte[]> { ["index.html"] = "known"u8.ToArray() });
        Assert.Equal("known", await BodyAsync(edge, $"{known}.localhost"));
        await FollowingAsync(edge);
        var before = await ActivationsAsync(edge);

        var deploymentHosts = Enumerable.Range(0, FloodPerKind).Select(_ => $"{RandomHex(8)}.localhost").ToList();
        var customHosts = Enumerable.Range(0, FloodPerKind).Select(i => $"www-{RandomHex(6)}-{i}.example-shop.test").ToList();
        var servedByEdge = 0;
        await Parallel.ForEachAsync(deploymentHosts.Concat(customHosts), Parallelism(), async (host, _) =>
        {
            using var response = await edge.GetAsync(host, "/");
            if (host.EndsWith(".localhost", StringComparison.Ordinal)) Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            if (response.Headers.Contains(EdgePages.ServedByHeader)) Interlocked.Increment(ref servedByEdge);
        });

        var after = await ActivationsAsync(edge);
        Assert.Equal(0, servedByEdge);
        Assert.True(after - before < 100, $"{FloodPerKind * 2} requests for unknown hosts grew the activations from {before} to {after}");

        // Asked again, the same hosts cost no lookup at all: their negative entries answer.
        var loads = edge.ManifestLoads;
        foreach (var host in deploymentHosts.Take(500)) Assert.Equal(HttpStatusCode.NotFound, (await edge.GetAsync(host, "/")).StatusCode);
        Assert.Equal(loads, edge.ManifestLoads);
        var aliases = edge.Services.GetRequiredService<AliasCache>().Figures();
        foreach (var host in customHosts.Take(500)) await edge.GetAsync(host, "/");
        Assert.Equal(aliases.Misses, edge.Services.GetRequiredService<AliasCache>().Figures().Misses);

        Assert.Equal("known", await BodyAsync(edge, $"{known}.localhost"));
        var (_, missing) = edge.Services.GetRequiredService<ManifestCache>().Figures();
        Assert.Equal(FloodPerKind, missing.Size);
    }

    [Fact]
    public async Task A_host_that_becomes_known_is_served_as_soon_as_announced_despite_its_negative_entry()
    {
        var known = await _edge.PublishAsync(new Dictionary<string, byte[]> { ["index.html"] = "aliased"u8.ToArray() });
        await FollowingAsync();

        // An alias under the base domain, and a custom domain, each remembered as unknown first.
        const string alias = "late-acme.localhost";
        const string custom = "www.late-shop.test";
        Assert.Equal(HttpStatusCode.NotFound, (await _edge.GetAsync(alias, "/")).StatusCode);
        Assert.False((await _edge.GetAsync(custom, "/")).Headers.Contains(EdgePages.ServedByHeader));
        await _edge.Grains.GetGrain<IAliasGrain>(alias).Set("acme/web", known);
        await _edge.Grains.GetGrain<IAliasGrain>(custom).Set("acme/web", known);
        Assert.Equal("aliased", await EventuallyServedAsync(alias));
        Assert.Equal("aliased", await EventuallyServedAsync(custom));

        // A deployment asked for while it is still building (its build waits for the one slot a synthetic build holds), then ready.
        var slot = await _edge.HoldBuildSlotAsync();
        var id = await _edge.StartPublishAsync(new Dictionary<string, byte[]> { ["index.html"] = "fresh"u8.ToArray() });
        Assert.Equal(HttpStatusCode.NotFound, (await _edge.GetAsync($"{id}.localhost", "/")).StatusCode);
        var loads = _edge.ManifestLoads;
        Assert.Equal(HttpStatusCode.NotFound, (await _edge.GetAsync($"{id}.localhost", "/")).StatusCode);
        Assert.Equal(loads, _edge.ManifestLoads); // the second 404 came from the negative entry
        await slot.Finish(GrainInterfaces.Builds.BuildStatuses.Succeeded);
        await _edge.WaitReadyAsync(id);
        Assert.Equal("fresh", await EventuallyServedAsync($"{id}.localhost"));
    }

    [Fact]
    public async Task A_deleted_deployment_answers_404_from_the_cache()
    {
        var id = await _edge.PublishAsync(new Dictionary<string, byte[]> { ["index.html"] = "doomed"u8.ToArray() });
        await FollowingAsync();
        Assert.Equal("doomed", await BodyAsync($"{id}.localhost"));

        await _edge.DeleteAsync(id);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await _edge.GetAsync($"{id}.localhost", "/")).StatusCode == HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        var loads = _edge.ManifestLoads;
        for (var i = 0; i < 50; i++)
        {
            var response = await _edge.GetAsync($"{id}.localhost", "/");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("not ready", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }

        Assert.Equal(loads, _edge.ManifestLoads);
    }

    /// <summary>The cluster's activations as the operator sees them: /healthz, which asks Orleans' management grain.</summary>
    private static async Task<int> ActivationsAsync(EdgeHost edge)
    {
        using var response = await edge.GetAsync("localhost", "/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var health = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        return health.RootElement.GetProperty("activations").GetInt32();
    }

    private static string RandomHex(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));

    private static ParallelOptions Parallelism() => new() { MaxDegreeOfParallelism = 8, CancellationToken = TestContext.Current.CancellationToken };

    private Task FollowingAsync() => FollowingAsync(_edge);

    /// <summary>The edge caches only while it follows the alias stream (from shortly after start).</summary>
    internal static async Task FollowingAsync(EdgeHost edge)
    {
        var cache = edge.Services.GetRequiredService<AliasCache>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!cache.IsFollowing && DateTime.UtcNow < deadline) await Task.Delay(20, TestContext.Current.CancellationToken);
        Assert.True(cache.IsFollowing, "the edge never followed the alias stream");
    }

    private Task<string?> BodyAsync(string host) => BodyAsync(_edge, host);

    internal static async Task<string?> BodyAsync(EdgeHost edge, string host)
    {
        using var response = await edge.GetAsync(host, "/");
        return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken) : null;
    }

    /// <summary>The announcement arrives soon but not within the write's call; the deadline is far below the negative TTL.</summary>
    private async Task<string?> EventuallyServedAsync(string host)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string? body;
        while ((body = await BodyAsync(host)) is null && DateTime.UtcNow < deadline) await Task.Delay(20, TestContext.Current.CancellationToken);
        return body;
    }

    public async ValueTask DisposeAsync() => await _edge.DisposeAsync();
}

/// <summary>The same flood with state in PostgreSQL (Orleans' ADO.NET storage), which the edge's lookups read directly.</summary>
public sealed class EdgeMissCachePostgresTests(PostgresFixture postgres)
{
    [Fact]
    public async Task A_flood_of_unknown_hosts_activates_no_grain_per_host_with_state_in_postgres()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("edge", TestContext.Current.CancellationToken);
        await using var edge = new EdgeHost(new Dictionary<string, string?>
        {
            ["CloudDeck:StorageProvider"] = "Postgres",
            ["CloudDeck:PostgresConnectionString"] = connectionString,
            // As above: the flood takes longer than the default's few seconds, and the repeat must still find its entries.
            ["CloudDeck:Edge:NegativeCacheTtl"] = "00:10:00",
        });
        await EdgeMissCacheTests.FloodAsync(edge);
    }
}
