using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CloudDeck.Api.Tests;
using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests.Frameworks;

/// <summary>
/// Real Next.js apps from the npm registry, built by the platform in its sandbox and answered through the edge: a
/// server-rendered page that changes per request, a JSON route, fingerprinted static files served by the edge itself
/// with immutable caching, a static export still served as files (Next 14, deployed with <c>deck deploy --prod</c>);
/// previews, promote and rollback under load with no failed request, and a crash restart (Next 16, from git).
/// </summary>
[Trait("needs", "pipeline")]
public sealed partial class NextJsServerTests : FrameworkDeployTest
{
    private static readonly TimeSpan BuildDeadline = TimeSpan.FromMinutes(8);

    [Fact]
    public async Task Next_14_deploys_as_a_server_with_deck_renders_per_request_answers_json_serves_its_static_files_at_the_edge_and_a_static_export_stays_files()
    {
        var api = await StartApiAsync(Settings);
        var user = await LoggedInAsync(api, "next@example.com");
        var app = Directory.CreateDirectory(Path.Combine(Work, "next14")).FullName;
        await NextApp.WriteAsync(app, NextApp.Next14, "v1", staticExport: false, Cancellation);
        var (host, log) = await DeployWithDeckAsync(api, user, app, "next");
        var wholeRoot = NextApp.WholeRootBytes(app);

        var page = await RenderedPerRequestAsync(api, host, "<h1>rendered v1</h1>");

        using var json = await ServerAppTests.SendAsync(api, host, HttpMethod.Get, "/api/hello");
        Assert.Equal("application/json", json.Content.Headers.ContentType?.MediaType);
        var hello = JsonNode.Parse(await json.Content.ReadAsStringAsync(Cancellation))!;
        Assert.Equal(("v1", "production"), (hello["hello"]!.GetValue<string>(), hello["env"]!.GetValue<string>()));

        // The page's scripts are fingerprinted files under /_next/static: the edge answers them from the artifact store.
        await AssertServedByTheEdgeAsync(api, host, AssetIn(page, StaticScriptPattern), "/_next/static/");
        using var robots = await ServerAppTests.SendAsync(api, host, HttpMethod.Get, "/robots.txt");
        Assert.Equal("User-agent: *\n", await robots.Content.ReadAsStringAsync(Cancellation));

        Assert.Contains("Detected nextjs (server)", log, StringComparison.Ordinal);
        Assert.Contains("Next.js standalone output", log, StringComparison.Ordinal);
        Assert.Contains("The edge serves /_next/static/*", log, StringComparison.Ordinal);
        var stored = long.Parse(StoredBytes().Match(log).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        TestContext.Current.TestOutputHelper?.WriteLine($"Next.js 14 server deployment stores {stored:N0} bytes; its whole root with node_modules was {wholeRoot:N0} bytes");
        Assert.True(stored * 4 <= wholeRoot, $"stored {stored:N0} bytes; the whole root with node_modules is {wholeRoot:N0} (at most a quarter wanted)");

        // The same app as a static export: files at the edge, no server.
        var exported = Directory.CreateDirectory(Path.Combine(Work, "next14-export")).FullName;
        await NextApp.WriteAsync(exported, NextApp.Next14, "v1", staticExport: true, Cancellation);
        var (exportHost, exportLog) = await DeployWithDeckAsync(api, user, exported, "exported");
        using var exportedPage = await ServerAppTests.SendAsync(api, exportHost, HttpMethod.Get, "/");
        var exportedHtml = (await exportedPage.Content.ReadAsStringAsync(Cancellation)).Replace("<!-- -->", "", StringComparison.Ordinal);
        Assert.Contains("<h1>exported v1</h1>", exportedHtml, StringComparison.Ordinal);
        Assert.Equal("no-cache", exportedPage.Headers.CacheControl?.ToString());
        await AssertServedByTheEdgeAsync(api, exportHost, AssetIn(exportedHtml, StaticScriptPattern), "/_next/static/");
        Assert.Contains("Detected nextjs (static site)", exportLog, StringComparison.Ordinal);
        Assert.Contains("sets output: 'export'", exportLog, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Next_16_previews_swaps_under_load_without_a_failed_request_and_restarts_after_a_crash()
    {
        var api = await StartApiAsync(Settings);
        var user = await SignUpAsync(api, "next16@example.com");
        var repo = Directory.CreateDirectory(Path.Combine(Work, "next16")).FullName;
        await NextApp.WriteAsync(repo, NextApp.Next16, "v1", staticExport: false, Cancellation);
        await FrameworkApps.InstallAsync(repo, Cancellation);
        await File.WriteAllTextAsync(Path.Combine(repo, ".gitignore"), "node_modules\n.next\n", Cancellation);
        await GitAsync(repo, "init", "-q", "-b", "main");
        await GitAsync(repo, "add", "-A");
        await GitAsync(repo, "commit", "-q", "-m", "Next.js 16 app");
        using var http = Authorized(api, user);
        await DeckProcessTest.ExpectAsync(await http.PostAsJsonAsync($"api/v1/orgs/{user.Organization}/projects", new { name = "site", local_path = repo }, Cancellation),
            HttpStatusCode.Created);

        var first = await DeployAsync(http, user, "production", "main");
        await NextApp.RelabelAsync(repo, "v1", "v2", Cancellation);
        await GitAsync(repo, "checkout", "-q", "-b", "next");
        await GitAsync(repo, "commit", "-q", "-am", "v2");
        var second = await DeployAsync(http, user, "preview", "next");
        var host = $"site-{user.Organization}.localhost:{api.BaseAddress.Port}";

        // The preview answers at its own host while production stays on v1.
        using (var preview = await ServerAppTests.SendAsync(api, $"{second}.localhost:{api.BaseAddress.Port}", HttpMethod.Get, "/label"))
        {
            Assert.StartsWith("hello from v2 on ", await preview.Content.ReadAsStringAsync(Cancellation));
        }

        await using (var load = new ServerLoadLoop(api.BaseAddress, host, workers: 4, path: "/label"))
        {
            await load.WaitForAsync(_ => load.Completed > 20, "the load loop to get going");
            Assert.Equal("v1", load.LastLabel);
            await DeckProcessTest.ExpectAsync(await http.PostAsync($"api/v1/deployments/{second}/promote", null, Cancellation), HttpStatusCode.OK);
            await load.WaitForAsync(_ => load.Seen.ContainsKey("v2"), "v2 to answer after the promote");
            await ServerAppTests.WaitForServerStateAsync(http, first, "stopped");
            var afterPromote = load.Completed;
            await load.WaitForAsync(_ => load.Completed > afterPromote + 50, "more requests after v1 stopped");
            await DeckProcessTest.ExpectAsync(await http.PostAsJsonAsync($"api/v1/orgs/{user.Organization}/projects/site/rollback", new { deployment_id = first }, Cancellation),
                HttpStatusCode.OK);
            await ServerAppTests.WaitForServerStateAsync(http, second, "stopped");
            var afterRollback = load.Completed;
            await load.WaitForAsync(_ => load.Completed > afterRollback + 50 && load.LastLabel == "v1", "v1 to answer again after the rollback");
            await load.StopAsync();
            Assert.True(load.Failures.IsEmpty, $"{load.Failures.Count} of {load.Completed} requests failed during the swaps:\n{string.Join('\n', load.Failures.Take(10))}");
            Assert.True(load.Seen.ContainsKey("v1") && load.Seen.ContainsKey("v2"), $"versions seen: {string.Join(", ", load.Seen.Keys)}");
        }

        // A crash: the grain restarts Next's server, and the edge's next request reaches the new process.
        var before = await DeckProcessTest.ExpectAsync(await http.GetAsync($"api/v1/deployments/{first}/server", Cancellation), HttpStatusCode.OK);
        using (var process = System.Diagnostics.Process.GetProcessById(before["pid"]!.GetValue<int>())) process.Kill();
        var restarted = await ServerAppTests.WaitForAsync(http, first, s => s["restarts"]!.GetValue<int>() > before["restarts"]!.GetValue<int>()
            && s["state"]!.GetValue<string>() == "healthy", "the grain to restart the killed Next.js server");
        Assert.Equal(137, restarted["last_exit_code"]!.GetValue<int>());
        using var after = await ServerAppTests.SendAsync(api, host, HttpMethod.Get, "/label");
        Assert.Equal($"hello from v1 on {restarted["port"]!.GetValue<int>()}", await after.Content.ReadAsStringAsync(Cancellation));
        using var dynamicPage = await ServerAppTests.SendAsync(api, host, HttpMethod.Get, "/");
        await AssertServedByTheEdgeAsync(api, host, AssetIn(await dynamicPage.Content.ReadAsStringAsync(Cancellation), StaticScriptPattern), "/_next/static/");
    }

    private static async Task<string> DeployAsync(HttpClient http, DeckUser user, string target, string gitRef)
    {
        var created = await DeckProcessTest.ExpectAsync(await http.PostAsJsonAsync(
            $"api/v1/orgs/{user.Organization}/projects/site/deployments", new { target, git_ref = gitRef }, Cancellation), HttpStatusCode.Created);
        var id = created["id"]!.GetValue<string>();
        var deadline = DateTime.UtcNow + BuildDeadline;
        while (true)
        {
            var deployment = await DeckProcessTest.ExpectAsync(await http.GetAsync($"api/v1/deployments/{id}", Cancellation), HttpStatusCode.OK);
            var status = deployment["status"]!.GetValue<string>();
            if (status == "ready") return id;
            if (status is not ("building" or "queued") || DateTime.UtcNow > deadline)
            {
                var buildId = deployment["build_id"]?.GetValue<string>();
                var log = buildId is null ? "(no build)" : await http.GetStringAsync($"api/v1/builds/{buildId}/logs", Cancellation);
                Assert.Fail($"deployment {id} is {status}: {deployment}; build log:\n{log}");
            }

            await Task.Delay(250, Cancellation);
        }
    }

    private static async Task<string> GitAsync(string repo, params string[] args)
    {
        var environment = new Dictionary<string, string?>
        {
            ["GIT_AUTHOR_NAME"] = "Test", ["GIT_AUTHOR_EMAIL"] = "test@example.com",
            ["GIT_COMMITTER_NAME"] = "Test", ["GIT_COMMITTER_EMAIL"] = "test@example.com",
        };
        await using var process = ChildProcess.Start("git", args, environment, repo);
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromMinutes(1), Cancellation), $"git {string.Join(' ', args)} did not finish:\n{process.Output}");
        Assert.True(process.ExitCode == 0, $"git {string.Join(' ', args)} exited {process.ExitCode}:\n{process.Output}");
        return process.Output.Trim();
    }

    private const string StaticScriptPattern = @"/_next/static/[^""'\s]+\.js";

    [GeneratedRegex(@"Stored \d+ file\(s\), (\d+) bytes")]
    private static partial Regex StoredBytes();
}
