using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Testing;

namespace CloudDeck.Edge.Bench;

/// <summary>
/// <c>./build.sh bench edge --rollback [--rounds 200]</c>: from the rollback (or promote) API call to the moment the
/// production URL serves the other deployment's content, through the real API process and its REST contract only
/// (projects, uploads, deployments, rollback, promote): two production deployments of a one-file site, then
/// alternately rollback and promote, each timed until the edge answers the expected body. Target ≤ 50 ms.
/// </summary>
internal static class RollbackBench
{
    private const string Password = "correct horse battery staple";

    public static async Task<int> RunAsync(int rounds)
    {
        var dll = RepoPaths.ProjectOutput("api", "CloudDeck.Api");
        var data = Directory.CreateTempSubdirectory("clouddeck-rollback-bench-").FullName;
        var port = ChildProcess.FreeTcpPort();
        await using var api = ChildProcess.Start(RepoPaths.DotnetHost, [dll], new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["CloudDeck__DataDirectory"] = data,
            // The benchmark account cannot verify its email (no mail leaves the process): it may upload and deploy what its runs need.
            ["CloudDeck__Accounts__UnverifiedStorageAllowanceMb"] = "1000000",
            ["CloudDeck__Accounts__UnverifiedDeployments"] = "1000000",
            ["CloudDeck__Plans__Hobby__StorageMb"] = "-1",
            ["Logging__LogLevel__Default"] = "Warning",
        }, Path.GetDirectoryName(dll));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        try
        {
            await ApiCalls.WaitHealthyAsync(http, api);
            await ApiCalls.CallAsync(http, HttpMethod.Post, "api/v1/auth/signup", new { email = "bench@example.com", password = Password });
            var login = await ApiCalls.CallAsync(http, HttpMethod.Post, "api/v1/auth/login", new { email = "bench@example.com", password = Password });
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login["access_token"]!.GetValue<string>());
            var org = await ApiCalls.PersonalOrganizationAsync(http);
            await ApiCalls.CallAsync(http, HttpMethod.Post, $"api/v1/orgs/{org}/projects", new { name = "site" });

            var first = await DeployAsync(http, org, "first");
            var second = await DeployAsync(http, org, "second");
            var production = $"site-{org}.localhost";
            var samples = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                var back = round % 2 == 0;
                var stopwatch = Stopwatch.StartNew();
                if (back) await ApiCalls.CallAsync(http, HttpMethod.Post, $"api/v1/orgs/{org}/projects/site/rollback", new { deployment_id = first });
                else await ApiCalls.CallAsync(http, HttpMethod.Post, $"api/v1/deployments/{second}/promote", null);
                var expected = back ? "first" : "second";
                while (await ServedAsync(http, production) != expected)
                {
                    if (stopwatch.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"{production} did not serve '{expected}' within 30 s");
                }

                samples.Add(stopwatch.Elapsed.TotalMilliseconds);
            }

            samples.Sort();
            var p95 = samples[Math.Min(samples.Count - 1, (int)Math.Ceiling(samples.Count * 0.95) - 1)];
            Console.WriteLine($"load average: {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?")}");
            Console.WriteLine("| measure | median | p95 | max |");
            Console.WriteLine("| --- | ---: | ---: | ---: |");
            Console.WriteLine($"| rollback/promote call → production URL serves the other deployment ({rounds} switches) | {samples[samples.Count / 2]:0.00} ms | {p95:0.00} ms | {samples[^1]:0.00} ms |");
            Console.WriteLine($"Target ≤ 50 ms: {(p95 <= 50 ? "met (p95)" : samples[samples.Count / 2] <= 50 ? "met by the median, NOT by p95" : "NOT met")}.");
            return 0;
        }
        finally
        {
            api.Kill(Signal.SIGTERM);
            await api.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>Uploads a one-file site whose page says <paramref name="text"/>, deploys it to production, waits until ready.</summary>
    private static async Task<string> DeployAsync(HttpClient http, string org, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var files = new[] { new { path = "index.html", sha256 = sha, size = bytes.Length } };
        var missing = await ApiCalls.CallAsync(http, HttpMethod.Post, $"api/v1/orgs/{org}/files/missing", new { files });
        if (missing["missing"]!.AsArray().Count > 0)
        {
            using var upload = await http.PutAsync($"api/v1/orgs/{org}/files/{sha}", new ByteArrayContent(bytes));
            upload.EnsureSuccessStatusCode();
        }

        var deployment = await ApiCalls.CallAsync(http, HttpMethod.Post, $"api/v1/orgs/{org}/projects/site/deployments", new { target = "production", files });
        var id = deployment["id"]!.GetValue<string>();
        for (var waited = Stopwatch.StartNew(); ; await Task.Delay(100))
        {
            var status = (await ApiCalls.CallAsync(http, HttpMethod.Get, $"api/v1/deployments/{id}", null))["status"]!.GetValue<string>();
            if (status == "ready") return id;
            if (status is "failed" or "canceled" or "timed_out" || waited.Elapsed > TimeSpan.FromMinutes(2)) throw new InvalidOperationException($"deployment {id}: {status}");
        }
    }

    private static async Task<string?> ServedAsync(HttpClient http, string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Host = host;
        using var response = await http.SendAsync(request);
        return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
    }
}
