using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CloudDeck.Api.Tests;
using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// The first end-to-end case: a real Vite app, written by the test and resolved from the npm registry,
/// committed to a real git repository, built by the platform (npm ci + vite build), served by the edge; then a
/// push to a branch (GitHub's push webhook, signed) gets a preview at its own host while production stays.
/// </summary>
[Trait("needs", "pipeline")]
public sealed partial class ViteDeploymentTests : DeckProcessTest
{
    // Vite 5.4 runs on Node 18 (Debian 12's) and on newer ones; pinned so the test builds the same app every run.
    private static readonly TimeSpan BuildDeadline = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_vite_app_in_a_git_repository_deploys_to_production_and_a_branch_push_gets_a_preview_while_production_stays()
    {
        var api = await StartApiAsync(new Dictionary<string, string?> { ["CloudDeck__Projects__AllowLocalSources"] = "true" });
        var user = await SignUpAsync(api, "vite@example.com");
        var repo = await ViteRepositoryAsync("Hello from main");
        using var http = Authorized(api, user);

        var project = await ExpectAsync(await http.PostAsJsonAsync(
            $"api/v1/orgs/{user.Organization}/projects", new { name = "vite", local_path = repo }, Cancellation), HttpStatusCode.Created);
        var webhookSecret = project["webhook_secret"]!.GetValue<string>();
        var production = await ExpectAsync(await http.PostAsJsonAsync(
            $"api/v1/orgs/{user.Organization}/projects/vite/deployments", new { target = "production", git_ref = "main" }, Cancellation), HttpStatusCode.Created);
        await ReadyAsync(http, production["id"]!.GetValue<string>());

        var productionHost = $"vite-{user.Organization}.localhost";
        var page = await ServedAsync(api, productionHost, "/");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal("text/html", page.MediaType);
        Assert.Contains("<div id=\"app\"></div>", page.Body);
        var script = ScriptPath().Match(page.Body);
        var style = StylePath().Match(page.Body);
        Assert.True(script.Success && style.Success, $"the built index.html names no hashed assets:\n{page.Body}");
        var js = await ServedAsync(api, productionHost, script.Groups[1].Value);
        Assert.Equal(HttpStatusCode.OK, js.Status);
        Assert.Contains(js.MediaType, new[] { "text/javascript", "application/javascript" });
        Assert.Contains("Hello from main", js.Body);
        var css = await ServedAsync(api, productionHost, style.Groups[1].Value);
        Assert.Equal(HttpStatusCode.OK, css.Status);
        Assert.Equal("text/css", css.MediaType);
        Assert.Contains(".hello-from-vite", css.Body);

        await CommitOnBranchAsync(repo, "feature/hello", "Hello from a branch");
        var push = await PushAsync(api, user.Organization, webhookSecret, "feature/hello", await GitAsync(repo, "rev-parse", "HEAD"));
        var preview = await ReadyAsync(http, push["id"]!.GetValue<string>());

        Assert.Equal("preview", preview["target"]!.GetValue<string>());
        var previewHost = $"vite-git-feature-hello-{user.Organization}.localhost";
        var previewPage = await ServedAsync(api, previewHost, "/");
        var previewScript = ScriptPath().Match(previewPage.Body).Groups[1].Value;
        Assert.Contains("Hello from a branch", (await ServedAsync(api, previewHost, previewScript)).Body);
        // Production is untouched: the same index.html, the same script.
        Assert.Equal(page.Body, (await ServedAsync(api, productionHost, "/")).Body);
        Assert.Contains("Hello from main", (await ServedAsync(api, productionHost, script.Groups[1].Value)).Body);
    }

    /// <summary>A Vite app as `npm create vite` writes it (vanilla template), its lockfile from the registry, committed on main.</summary>
    private async Task<string> ViteRepositoryAsync(string greeting)
    {
        var repo = Directory.CreateDirectory(Path.Combine(Work, "vite-app")).FullName;
        await ViteApp.WriteAsync(repo, greeting, Cancellation);
        // A full install, as a developer would run it: `--package-lock-only` leaves rollup's optional platform packages out of
        // the lockfile, and `npm ci` then refuses it.
        await RunAsync(repo, "npm", "install", "--no-audit", "--no-fund");
        await GitAsync(repo, "init", "-q", "-b", "main");
        await GitAsync(repo, "add", "-A");
        await GitAsync(repo, "commit", "-q", "-m", "Vite app");
        return repo;
    }

    private async Task CommitOnBranchAsync(string repo, string branch, string greeting)
    {
        await GitAsync(repo, "checkout", "-q", "-b", branch);
        await ViteApp.WriteGreetingAsync(repo, greeting, Cancellation);
        await GitAsync(repo, "commit", "-q", "-am", greeting);
    }

    /// <summary>What GitHub sends on a push, signed with the project's secret (X-Hub-Signature-256).</summary>
    private static async Task<JsonNode> PushAsync(ApiHost api, string organization, string secret, string branch, string commit)
    {
        var payload = Encoding.UTF8.GetBytes(new JsonObject { ["ref"] = $"refs/heads/{branch}", ["after"] = commit, ["deleted"] = false }.ToJsonString());
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/v1/orgs/{organization}/projects/vite/hooks/git") { Content = new ByteArrayContent(payload) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-GitHub-Event", "push");
        request.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), payload)));
        return await ExpectAsync(await api.Http.SendAsync(request, Cancellation), HttpStatusCode.Accepted);
    }

    private static async Task<JsonNode> ReadyAsync(HttpClient http, string deploymentId)
    {
        var deadline = DateTime.UtcNow + BuildDeadline;
        while (true)
        {
            var deployment = await ExpectAsync(await http.GetAsync($"api/v1/deployments/{deploymentId}", Cancellation), HttpStatusCode.OK);
            var status = deployment["status"]!.GetValue<string>();
            if (status == "ready") return deployment;
            if (status != "building" || DateTime.UtcNow > deadline)
            {
                var buildId = deployment["build_id"]?.GetValue<string>();
                var log = buildId is null ? "(no build)" : await http.GetStringAsync($"api/v1/builds/{buildId}/logs", Cancellation);
                Assert.Fail($"deployment {deploymentId} is {status} (waited at most {BuildDeadline}); build log:\n{log}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), Cancellation);
        }
    }

    private static HttpClient Authorized(ApiHost api, DeckUser user)
    {
        var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
        return http;
    }

    private static async Task<(HttpStatusCode Status, string? MediaType, string Body)> ServedAsync(ApiHost api, string host, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = $"{host}:{api.BaseAddress.Port}";
        using var response = await api.Http.SendAsync(request, Cancellation);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync(Cancellation));
    }

    private Task<string> GitAsync(string repo, params string[] args) => RunAsync(repo, "git", args);

    private async Task<string> RunAsync(string directory, string command, params string[] args)
    {
        var environment = new Dictionary<string, string?>
        {
            ["GIT_AUTHOR_NAME"] = "Test", ["GIT_AUTHOR_EMAIL"] = "test@example.com",
            ["GIT_COMMITTER_NAME"] = "Test", ["GIT_COMMITTER_EMAIL"] = "test@example.com",
        };
        await using var process = ChildProcess.Start(command, args, environment, directory);
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromMinutes(3), Cancellation), $"{command} {string.Join(' ', args)} did not finish:\n{process.Output}");
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', args)} exited {process.ExitCode}:\n{process.Output}");
        return process.Output.Trim();
    }

    [GeneratedRegex("<script type=\"module\" crossorigin src=\"(/assets/[^\"]+\\.js)\"")]
    private static partial Regex ScriptPath();

    [GeneratedRegex("<link rel=\"stylesheet\" crossorigin href=\"(/assets/[^\"]+\\.css)\"")]
    private static partial Regex StylePath();
}
