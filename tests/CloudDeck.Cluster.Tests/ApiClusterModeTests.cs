using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CloudDeck.Diagnostics;

namespace CloudDeck.Cluster.Tests;

/// <summary>The API host as a cluster client (CloudDeck:Cluster:Mode=Cluster): it holds no grains, the silos do.</summary>
public sealed class ApiClusterModeTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ChildProcess StartApi(int port, IReadOnlyDictionary<string, string?> environment)
    {
        var dll = RepoPaths.ProjectOutput("api", "CloudDeck.Api");
        var env = new Dictionary<string, string?>(environment)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["CloudDeck__DataDirectory"] = Directory.CreateTempSubdirectory("clouddeck-api-").FullName,
        };
        return ChildProcess.Start(RepoPaths.DotnetHost, [dll], env, workingDirectory: Path.GetDirectoryName(dll));
    }

    [Fact]
    public async Task The_API_in_cluster_mode_serves_grain_calls_from_the_silos()
    {
        await using var cluster = await ClusterHarness.StartAsync(postgres, silos: 2, Ct);
        var port = ChildProcess.FreeTcpPort();
        await using var api = StartApi(port, new Dictionary<string, string?>
        {
            ["CloudDeck__StorageProvider"] = "Postgres",
            ["CloudDeck__PostgresConnectionString"] = cluster.Database,
            ["CloudDeck__Cluster__Mode"] = "Cluster",
            ["CloudDeck__Cluster__ClusterId"] = cluster.ClusterId,
            ["CloudDeck__Auth__SigningKey"] = SiloProcess.TestSigningKey,
        }.Concat(TestCertificateAuthority.Shared.ClusterTlsEnvironment("api")).ToDictionary().WithDiagnostics());
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement health = default;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                health = await http.GetFromJsonAsync<JsonElement>("/healthz", Ct);
                if (health.GetProperty("silos").GetInt32() == 2)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
            }

            Assert.False(api.HasExited, $"The API exited:\n{api}");
            await Task.Delay(200, Ct);
        }

        Assert.Equal(2, health.GetProperty("silos").GetInt32());
        // Ready as a client: PostgreSQL answers and the cluster answers with active silos.
        var ready = await http.GetAsync("/readyz", Ct);
        var readiness = await ready.Content.ReadAsStringAsync(Ct);
        Assert.True(ready.StatusCode == HttpStatusCode.OK, readiness);
        Assert.Contains("active silo", readiness, StringComparison.Ordinal);
        Assert.Contains("Postgres answers", readiness, StringComparison.Ordinal);

        var put = await http.PutAsJsonAsync("/_diag/probe/in-cluster", new { value = "from the silos" }, Ct);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var read = await http.GetFromJsonAsync<JsonElement>("/_diag/probe/in-cluster", Ct);
        Assert.Equal("from the silos", read.GetProperty("value").GetString());

        // The value lives in the cluster's storage: a silo answers it, not the API.
        var journalled = await cluster.Grains.GetGrain<CloudDeck.GrainInterfaces.Diagnostics.IProbeGrain>("in-cluster").Read();
        Assert.Equal("from the silos", journalled.Value);
    }

    [Fact]
    public async Task Cluster_mode_without_a_shared_signing_key_refuses_to_start_and_names_the_setting()
    {
        await using var api = StartApi(ChildProcess.FreeTcpPort(), new Dictionary<string, string?>
        {
            ["CloudDeck__Cluster__Mode"] = "Cluster",
            ["CloudDeck__StorageProvider"] = "Postgres",
            ["CloudDeck__PostgresConnectionString"] = "Host=127.0.0.1;Port=1;Username=nobody",
            ["CloudDeck__Auth__SigningKey"] = null,
        });
        Assert.True(await api.WaitForExitAsync(TimeSpan.FromSeconds(60), Ct), $"The API kept running:\n{api}");
        Assert.Equal(1, api.ExitCode);
        Assert.Contains("CloudDeck:Auth:SigningKey", api.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cluster_mode_without_PostgreSQL_storage_refuses_to_start_and_names_the_setting()
    {
        await using var api = StartApi(ChildProcess.FreeTcpPort(), new Dictionary<string, string?>
        {
            ["CloudDeck__Cluster__Mode"] = "Cluster",
            ["CloudDeck__StorageProvider"] = null,
        });
        Assert.True(await api.WaitForExitAsync(TimeSpan.FromSeconds(60), Ct), $"The API kept running:\n{api}");
        Assert.Equal(1, api.ExitCode);
        Assert.Contains("CloudDeck:StorageProvider=Postgres", api.Output, StringComparison.Ordinal);
    }
}
