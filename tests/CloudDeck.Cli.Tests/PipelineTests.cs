using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using CloudDeck.Api.Tests;
using CloudDeck.Cli.Output;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// deck against the whole pipeline (projects, uploads, builds, deployments, aliases, the edge) in a real API process.
/// They need the server side of issue 6 and fail until it is merged: trait needs=pipeline.
/// </summary>
[Trait("needs", "pipeline")]
public partial class PipelineTests : DeckProcessTest
{
    private static readonly TimeSpan EdgeWait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Deploy_uploads_every_file_then_after_one_change_exactly_that_file_and_prints_the_url_last()
    {
        var api = await StartApiAsync();
        var user = await LoggedInAsync(api);
        var site = Site("site", Enumerable.Range(0, 10).ToDictionary(i => $"assets/app-{i}.js", i => $"console.log({i});")
            .Append(new("index.html", "<h1>v1</h1>")).Append(new("about/index.html", "<p>about</p>")).ToDictionary());
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "web"], site)).Expect(0);

        var first = (await Deck(["deploy", "--prod", "--api", Url(api)], site)).Expect(0);

        var total = Directory.EnumerateFiles(site, "*", SearchOption.AllDirectories).Where(f => !f.Contains(".clouddeck", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
        Assert.Contains(Format.UploadSummary(12, total, 0), first.Stdout);
        var firstUrl = DeploymentUrl(first);
        Assert.Equal("<h1>v1</h1>", await EventuallyServedAsync(api, firstUrl.Host, "/", "<h1>v1</h1>"));
        var stored = Artifacts();
        Assert.Contains(Sha256("console.log(3);"), stored.Keys);

        const string changed = "console.log('three, changed');";
        await File.WriteAllTextAsync(Path.Combine(site, "assets", "app-3.js"), changed, Cancellation);
        var second = (await Deck(["deploy", "--prod", "--api", Url(api)], site)).Expect(0);

        var size = Encoding.UTF8.GetByteCount(changed);
        Assert.Contains(Format.UploadSummary(1, size, 11), second.Stdout);
        // The API's side: the store gained exactly one content, the changed file's bytes.
        var added = Artifacts().Where(a => !stored.ContainsKey(a.Key)).ToList();
        var only = Assert.Single(added);
        Assert.Equal(Sha256(changed), only.Key);
        Assert.Equal(size, only.Value);
        var secondUrl = DeploymentUrl(second);
        Assert.NotEqual(firstUrl.Host, secondUrl.Host);
        Assert.Equal(changed, await EventuallyServedAsync(api, secondUrl.Host, "/assets/app-3.js", changed));
        // Deployments are immutable: the first one still serves what it was built from.
        Assert.Equal("console.log(3);", (await ServedAsync(api, firstUrl.Host, "/assets/app-3.js")).Body);
    }

    [Fact]
    public async Task Rollback_then_promote_switch_what_the_production_url_serves_without_a_build()
    {
        var api = await StartApiAsync();
        var user = await LoggedInAsync(api);
        var site = Site("web", new() { ["index.html"] = "<h1>one</h1>" });
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "web"], site)).Expect(0);
        var one = DeploymentId(DeploymentUrl((await Deck(["deploy", "--prod", "--api", Url(api)], site)).Expect(0)));
        await File.WriteAllTextAsync(Path.Combine(site, "index.html"), "<h1>two</h1>", Cancellation);
        var two = DeploymentId(DeploymentUrl((await Deck(["deploy", "--prod", "--api", Url(api)], site)).Expect(0)));
        var production = $"web-{user.Organization}.localhost";
        Assert.Equal("<h1>two</h1>", await EventuallyServedAsync(api, production, "/", "<h1>two</h1>"));

        var rollback = (await Deck(["rollback", "--api", Url(api)], site)).Expect(0);
        Assert.Equal("<h1>one</h1>", await EventuallyServedAsync(api, production, "/", "<h1>one</h1>"));
        var listed = (await Deck(["ls", "--api", Url(api)], site)).Expect(0);
        var promote = (await Deck(["promote", two, "--api", Url(api)], site)).Expect(0);
        Assert.Equal("<h1>two</h1>", await EventuallyServedAsync(api, production, "/", "<h1>two</h1>"));
        (await Deck(["rollback", one, "--api", Url(api)], site)).Expect(0);
        Assert.Equal("<h1>one</h1>", await EventuallyServedAsync(api, production, "/", "<h1>one</h1>"));

        Assert.Contains($"production now serves {one}", rollback.Stdout);
        Assert.Contains($"production now serves {two}", promote.Stdout);
        // Plain output (stdout is a pipe): one tab-separated row per deployment, newest first, the served one marked.
        var rows = listed.Stdout.Where(l => l.Contains('\t', StringComparison.Ordinal)).Select(l => l.Split('\t')).ToList();
        Assert.Equal([two, one], rows.Select(r => r[0]).ToArray());
        Assert.Equal("production", rows[1][^1]);
        Assert.Equal("", rows[0][^1]);
    }

    [Fact]
    public async Task A_failing_build_makes_deploy_exit_1_naming_the_status_after_printing_the_log()
    {
        var api = await StartApiAsync();
        var user = await LoggedInAsync(api);
        var site = Site("broken", new() { ["index.html"] = "<h1>never served</h1>" });
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "broken",
            "--install-command", "echo deck-e2e-install", "--build-command", "echo deck-e2e-boom; exit 3", "--output-directory", "dist"], site)).Expect(0);

        var deploy = (await Deck(["deploy", "--prod", "--api", Url(api)], site)).Expect(1);

        Assert.Contains(deploy.Stdout, line => line.Contains("deck-e2e-boom", StringComparison.Ordinal));
        var error = Assert.Single(deploy.Stderr);
        Assert.Contains("ended failed", error, StringComparison.Ordinal);
        Assert.DoesNotContain(deploy.Stdout, line => line.StartsWith("http", StringComparison.Ordinal));
        var id = DeploymentIdLine().Match(deploy.Output).Groups[1].Value;
        Assert.True(id.Length == 16, deploy.Describe());

        var log = (await Deck(["logs", id, "--api", Url(api)], site)).Expect(0);
        var followed = (await Deck(["logs", id, "-f", "--api", Url(api)], site)).Expect(1);
        Assert.Contains(log.Stdout, line => line.Contains("deck-e2e-boom", StringComparison.Ordinal));
        Assert.Contains(followed.Stdout, line => line.Contains("deck-e2e-boom", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, (await ServedAsync(api, $"broken-{user.Organization}.localhost", "/")).Status);
    }

    [Fact]
    public async Task Env_set_ls_rm_keep_values_masked()
    {
        var api = await StartApiAsync();
        var user = await LoggedInAsync(api);
        var site = Site("envs", new() { ["index.html"] = "x" });
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "envs"], site)).Expect(0);
        const string secret = "s3cr3t-value-never-shown";

        (await Deck(["env", "set", "API_KEY", "--environment", "production", "--api", Url(api)], site, stdin: secret + "\n")).Expect(0);
        (await Deck(["env", "set", "MODE", "fast", "--api", Url(api)], site)).Expect(0);
        var listed = (await Deck(["env", "ls", "--api", Url(api)], site)).Expect(0);
        (await Deck(["env", "rm", "MODE", "-e", "preview", "--api", Url(api)], site)).Expect(0);
        var after = (await Deck(["env", "ls", "--api", Url(api)], site)).Expect(0);

        Assert.DoesNotContain(secret, listed.Output, StringComparison.Ordinal);
        Assert.Equal(["preview\tMODE\t***", "production\tAPI_KEY\t***", "production\tMODE\t***"], listed.Stdout.Where(l => l.Length > 0).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(["production\tAPI_KEY\t***", "production\tMODE\t***"], after.Stdout.Where(l => l.Length > 0).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task Init_with_a_git_url_prints_the_push_webhook_and_a_secret_that_signs_it()
    {
        var api = await StartApiAsync();
        var user = await LoggedInAsync(api);
        var site = Site("gitproject", new() { ["README.md"] = "x" });

        var init = (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "gitproject",
            "--git-url", "https://git.example.invalid/acme/gitproject.git"], site)).Expect(0);

        var hook = init.Stdout.Single(l => l.StartsWith("git push webhook: POST ", StringComparison.Ordinal))["git push webhook: POST ".Length..];
        var secret = init.Stdout.Single(l => l.StartsWith("webhook secret", StringComparison.Ordinal)).Split(": ")[^1];
        var payload = Encoding.UTF8.GetBytes("""{"ref":"refs/heads/feature","after":"0123456789abcdef0123456789abcdef01234567"}""");
        async Task<HttpStatusCode> PushAsync(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, hook) { Content = new ByteArrayContent(payload) };
            request.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), payload)));
            using var response = await api.Http.SendAsync(request, Cancellation);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await PushAsync("not-the-secret"));
        Assert.NotEqual(HttpStatusCode.Unauthorized, await PushAsync(secret));
    }

    private static string Url(ApiHost api) => api.BaseAddress.ToString();

    private string Site(string name, Dictionary<string, string> files)
    {
        var root = Directory.CreateDirectory(Path.Combine(Work, name)).FullName;
        foreach (var (path, content) in files)
        {
            var full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }

        return root;
    }

    /// <summary>The last stdout line, which deck deploy promises is the deployment's URL.</summary>
    private static Uri DeploymentUrl(DeckRun run)
    {
        var last = run.Stdout.LastOrDefault(l => l.Length > 0) ?? "";
        Assert.True(Uri.TryCreate(last, UriKind.Absolute, out var url), $"the last stdout line should be the URL. {run.Describe()}");
        return url;
    }

    private static string DeploymentId(Uri url) => url.Host.Split('.')[0];

    /// <summary>
    /// The artifact store under the API's data directory: hash → size (files at &lt;aa&gt;/&lt;rest-of-hash&gt;; which
    /// organization holds which are empty files under orgs/, not contents).
    /// </summary>
    private Dictionary<string, long> Artifacts()
    {
        var root = Path.Combine(DataDirectory, "artifacts");
        if (!Directory.Exists(root)) return [];
        var grants = Path.Combine(root, "orgs") + Path.DirectorySeparatorChar;
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(grants, StringComparison.Ordinal))
            .Select(f => (Hash: Path.GetFileName(Path.GetDirectoryName(f)!) + Path.GetFileName(f), File: f))
            .Where(a => a.Hash.Length == 64 && a.Hash.All(Uri.IsHexDigit))
            .ToDictionary(a => a.Hash, a => new FileInfo(a.File).Length);
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>What the edge answers for a host, asked through the API's port (the edge routes by Host).</summary>
    private static async Task<(HttpStatusCode Status, string Body)> ServedAsync(ApiHost api, string host, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseAddress, path));
        request.Headers.Host = host;
        using var response = await api.Http.SendAsync(request, Cancellation);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Cancellation));
    }

    /// <summary>
    /// The body once it is <paramref name="expected"/> (or the last one seen): an alias change reaches the edge's
    /// cache through a stream, so it is asked again until then. Not a timing assertion; the bench measures that.
    /// </summary>
    private static async Task<string> EventuallyServedAsync(ApiHost api, string host, string path, string expected)
    {
        var deadline = DateTime.UtcNow + EdgeWait;
        var (status, body) = await ServedAsync(api, host, path);
        while (body != expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), Cancellation);
            (status, body) = await ServedAsync(api, host, path);
        }

        return body == expected ? body : $"{(int)status}: {body}";
    }

    [GeneratedRegex(@"deployment ([0-9a-f]{16}) \(")]
    private static partial Regex DeploymentIdLine();
}
