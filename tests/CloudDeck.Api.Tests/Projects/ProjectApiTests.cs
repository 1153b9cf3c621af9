using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests.Accounts;

namespace CloudDeck.Api.Tests.Projects;

/// <summary>The project, environment, deployment and webhook routes against the real API with its embedded silo.</summary>
public sealed class ProjectApiTests : IAsyncDisposable
{
    // No build slot, so a deployment's build stays queued and its cancel cannot race a build that already failed.
    private readonly InProcessApi _api = new(settings: new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:ConcurrentBuilds"] = "0" });

    [Fact]
    public async Task Projects_env_and_deployments_round_trip_in_snake_case_and_env_values_never_come_back()
    {
        var owner = await OwnerOfAcmeAsync();
        var created = (await _api.PostAsync("/api/v1/orgs/acme/projects",
            new { name = "web", git_url = "https://git.example.test/acme/web.git", build_command = "npm run build" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        Assert.Equal("main", created.Text("production_branch"));
        Assert.Equal("web-acme.localhost", created.Text("production_host"));
        Assert.False(string.IsNullOrEmpty(created.Text("webhook_secret")));
        var fetched = (await _api.GetAsync("/api/v1/orgs/acme/projects/web", owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Null(fetched["webhook_secret"]);
        Assert.Equal(["web"], (await _api.GetAsync("/api/v1/orgs/acme/projects", owner.AccessToken)).Expect(HttpStatusCode.OK).Items().Select(p => p!.Text("name")));
        Assert.Equal("dist", (await _api.SendAsync(HttpMethod.Patch, "/api/v1/orgs/acme/projects/web", new { output_directory = "dist" }, owner.AccessToken))
            .Expect(HttpStatusCode.OK).Text("output_directory"));
        var server = (await _api.SendAsync(HttpMethod.Patch, "/api/v1/orgs/acme/projects/web",
            new { start_command = "node server.js", health_check_path = "/healthz" }, owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal(("node server.js", "/healthz"), (server.Text("start_command"), server.Text("health_check_path")));
        await ExpectFieldAsync("health_check_path", HttpMethod.Patch, "/api/v1/orgs/acme/projects/web", new { health_check_path = "healthz" }, owner);

        const string secret = "env-plaintext-5d1b3c-must-not-leak";
        var set = (await _api.SendAsync(HttpMethod.Put, "/api/v1/orgs/acme/projects/web/env/production/API_TOKEN", new { value = secret }, owner.AccessToken))
            .Expect(HttpStatusCode.OK);
        Assert.Equal("***", set.Text("value"));
        var env = (await _api.GetAsync("/api/v1/orgs/acme/projects/web/env", owner.AccessToken)).Expect(HttpStatusCode.OK).Items();
        Assert.Equal("API_TOKEN", Assert.Single(env)!.Text("name"));

        var deployment = (await _api.PostAsync("/api/v1/orgs/acme/projects/web/deployments", new { target = "production", git_ref = "main" }, owner.AccessToken))
            .Expect(HttpStatusCode.Created);
        var id = deployment.Text("id");
        Assert.Equal("building", deployment.Text("status"));
        Assert.Equal($"http://{id}.localhost:8080", deployment.Text("url"));
        Assert.Equal(id, (await _api.GetAsync($"/api/v1/deployments/{id}", owner.AccessToken)).Expect(HttpStatusCode.OK).Text("id"));
        // Nothing runs for it yet: its server is stopped, with nothing restarted.
        var status = (await _api.GetAsync($"/api/v1/deployments/{id}/server", owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal((id, "stopped", "0"), (status.Text("deployment_id"), status.Text("state"), status["restarts"]!.ToJsonString()));
        var page = (await _api.GetAsync("/api/v1/orgs/acme/projects/web/deployments?limit=10", owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal([id], page.Items().Select(d => d!.Text("id")));
        Assert.Equal(HttpStatusCode.Conflict, (await _api.PostAsync($"/api/v1/deployments/{id}/promote", null, owner.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await _api.PostAsync("/api/v1/orgs/acme/projects/web/rollback", null, owner.AccessToken)).Status);
        Assert.Equal("canceled", (await _api.PostAsync($"/api/v1/deployments/{id}/cancel", null, owner.AccessToken)).Expect(HttpStatusCode.OK).Text("status"));
        (await _api.SendAsync(HttpMethod.Delete, $"/api/v1/deployments/{id}", null, owner.AccessToken)).Expect(HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.GetAsync($"/api/v1/deployments/{id}", owner.AccessToken)).Status);

        (await _api.SendAsync(HttpMethod.Delete, "/api/v1/orgs/acme/projects/web/env/production/API_TOKEN", null, owner.AccessToken)).Expect(HttpStatusCode.NoContent);
        (await _api.SendAsync(HttpMethod.Delete, "/api/v1/orgs/acme/projects/web", null, owner.AccessToken)).Expect(HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.GetAsync("/api/v1/orgs/acme/projects/web", owner.AccessToken)).Status);

        Assert.DoesNotContain(_api.Responses, body => body.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(_api.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_input_is_a_400_problem_naming_the_field()
    {
        var owner = await OwnerOfAcmeAsync();
        (await _api.PostAsync("/api/v1/orgs/acme/projects", new { name = "web", git_url = "https://git.example.test/acme/web.git" }, owner.AccessToken))
            .Expect(HttpStatusCode.Created);

        await ExpectFieldAsync("name", HttpMethod.Post, "/api/v1/orgs/acme/projects", new { name = "Not A Name" }, owner);
        await ExpectFieldAsync("git_url", HttpMethod.Post, "/api/v1/orgs/acme/projects", new { name = "other", git_url = "ftp://example.test/x" }, owner);
        await ExpectFieldAsync("root_directory", HttpMethod.Patch, "/api/v1/orgs/acme/projects/web", new { root_directory = "../up" }, owner);
        await ExpectFieldAsync("project", HttpMethod.Get, "/api/v1/orgs/acme/projects/Bad_Name", null, owner);
        await ExpectFieldAsync("environment", HttpMethod.Put, "/api/v1/orgs/acme/projects/web/env/staging/API", new { value = "1" }, owner);
        await ExpectFieldAsync("name", HttpMethod.Put, "/api/v1/orgs/acme/projects/web/env/production/9LIVES", new { value = "1" }, owner);
        await ExpectFieldAsync("value", HttpMethod.Put, "/api/v1/orgs/acme/projects/web/env/production/API", new { }, owner);
        await ExpectFieldAsync("target", HttpMethod.Post, "/api/v1/orgs/acme/projects/web/deployments", new { target = "staging" }, owner);
        await ExpectFieldAsync("git_ref", HttpMethod.Post, "/api/v1/orgs/acme/projects/web/deployments", new { target = "preview", git_ref = "a..b" }, owner);
        await ExpectFieldAsync("files[0].path", HttpMethod.Post, "/api/v1/orgs/acme/projects/web/deployments",
            new { target = "preview", files = new[] { new { path = "../../etc/passwd", sha256 = new string('a', 64), size = 1 } } }, owner);
        await ExpectFieldAsync("files[0].size", HttpMethod.Post, "/api/v1/orgs/acme/projects/web/deployments",
            new { target = "preview", files = new[] { new { path = "index.html", sha256 = new string('a', 64) } } }, owner);
        await ExpectFieldAsync("limit", HttpMethod.Get, "/api/v1/orgs/acme/projects/web/deployments?limit=0", null, owner);
        await ExpectFieldAsync("deployment_id", HttpMethod.Post, "/api/v1/orgs/acme/projects/web/rollback", new { deployment_id = "nope" }, owner);
        await ExpectFieldAsync("id", HttpMethod.Get, "/api/v1/deployments/not-an-id", null, owner);
        Assert.Empty((await _api.GetAsync("/api/v1/orgs/acme/projects/web/deployments", owner.AccessToken)).Expect(HttpStatusCode.OK).Items());
    }

    [Fact]
    public async Task Another_tenant_gets_404_for_projects_env_and_deployments()
    {
        var owner = await OwnerOfAcmeAsync();
        var outsider = await _api.SignUpAndLoginAsync("outsider@other.test", verifyEmail: true);
        (await _api.PostAsync("/api/v1/orgs/acme/projects", new { name = "web", git_url = "https://git.example.test/acme/web.git" }, owner.AccessToken))
            .Expect(HttpStatusCode.Created);
        var id = (await _api.PostAsync("/api/v1/orgs/acme/projects/web/deployments", new { target = "preview", git_ref = "feature" }, owner.AccessToken))
            .Expect(HttpStatusCode.Created).Text("id");

        foreach (var (method, path, body) in new (HttpMethod, string, object?)[]
        {
            (HttpMethod.Get, "/api/v1/orgs/acme/projects", null),
            (HttpMethod.Get, "/api/v1/orgs/acme/projects/web", null),
            (HttpMethod.Patch, "/api/v1/orgs/acme/projects/web", new { framework = "vite" }),
            (HttpMethod.Get, "/api/v1/orgs/acme/projects/web/env", null),
            (HttpMethod.Put, "/api/v1/orgs/acme/projects/web/env/production/X", new { value = "1" }),
            (HttpMethod.Post, "/api/v1/orgs/acme/projects/web/deployments", new { target = "preview" }),
            (HttpMethod.Post, "/api/v1/orgs/acme/projects/web/rollback", null),
            (HttpMethod.Get, $"/api/v1/deployments/{id}", null),
            (HttpMethod.Post, $"/api/v1/deployments/{id}/cancel", null),
            (HttpMethod.Delete, $"/api/v1/deployments/{id}", null),
        })
        {
            var answer = await _api.SendAsync(method, path, body, outsider.AccessToken);
            Assert.True(answer.Status == HttpStatusCode.NotFound && answer.MediaType == "application/problem+json", $"{method} {path}: {(int)answer.Status} {answer.Body}");
        }
    }

    [Fact]
    public async Task The_push_webhook_needs_the_projects_signature_and_deploys_the_pushed_branch()
    {
        var owner = await OwnerOfAcmeAsync();
        var secret = (await _api.PostAsync("/api/v1/orgs/acme/projects", new { name = "web", git_url = "https://git.example.test/acme/web.git" }, owner.AccessToken))
            .Expect(HttpStatusCode.Created).Text("webhook_secret");
        var main = Push("main", new string('1', 40));
        var feature = Push("feature/login", new string('2', 40));

        Assert.Equal(HttpStatusCode.Unauthorized, (await HookAsync("web", main, null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await HookAsync("web", main, Sign("wrong secret", main))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await HookAsync("web", main, Sign(secret, feature))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await HookAsync("missing", main, Sign(secret, main))).Status);
        Assert.Empty((await _api.GetAsync("/api/v1/orgs/acme/projects/web/deployments", owner.AccessToken)).Expect(HttpStatusCode.OK).Items());

        var production = await HookAsync("web", main, Sign(secret, main));
        Assert.Equal(HttpStatusCode.Accepted, production.Status);
        var productionJson = JsonNode.Parse(production.Body)!;
        Assert.Equal("production", productionJson.Text("target"));
        Assert.Equal(new string('1', 40), productionJson.Text("commit"));
        Assert.Equal("main", productionJson.Text("branch"));

        var preview = JsonNode.Parse((await HookAsync("web", feature, Sign(secret, feature))).Body)!;
        Assert.Equal("preview", preview.Text("target"));
        Assert.Equal("feature/login", preview.Text("branch"));

        var deleted = Encoding.UTF8.GetBytes($"{{\"ref\":\"refs/heads/old\",\"after\":\"{new string('0', 40)}\",\"deleted\":true}}");
        Assert.Equal(HttpStatusCode.NoContent, (await HookAsync("web", deleted, Sign(secret, deleted))).Status);
        var listed = (await _api.GetAsync("/api/v1/orgs/acme/projects/web/deployments", owner.AccessToken)).Expect(HttpStatusCode.OK).Items();
        Assert.Equal([preview.Text("id"), productionJson.Text("id")], listed.Select(d => d!.Text("id")));
    }

    [Fact]
    public async Task A_delivery_replayed_with_its_body_and_signature_deploys_once_and_answers_that_it_was_a_duplicate_even_after_a_restart()
    {
        var owner = await OwnerOfAcmeAsync();
        var secret = (await _api.PostAsync("/api/v1/orgs/acme/projects", new { name = "web", git_url = "https://git.example.test/acme/web.git" }, owner.AccessToken))
            .Expect(HttpStatusCode.Created).Text("webhook_secret");
        var main = Push("main", new string('1', 40), pushedAt: _api.Clock.GetUtcNow());
        var delivery = Guid.NewGuid().ToString();

        var first = (await HookAsync("web", main, Sign(secret, main), delivery)).Expect(HttpStatusCode.Accepted);
        var again = (await HookAsync("web", main, Sign(secret, main), delivery)).Expect(HttpStatusCode.OK);
        Assert.True(again["duplicate"]!.GetValue<bool>());
        Assert.Equal((delivery, first.Text("id")), (again.Text("delivery_id"), again.Text("deployment_id")));
        // The delivery id is not signed: a replay under a new id is known by its signed body.
        var renamed = (await HookAsync("web", main, Sign(secret, main), Guid.NewGuid().ToString())).Expect(HttpStatusCode.OK);
        Assert.Equal((delivery, first.Text("id")), (renamed.Text("earlier_delivery_id"), renamed.Text("deployment_id")));
        (await HookAsync("web", main, Sign(secret, main), null)).Expect(HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.BadRequest, (await HookAsync("web", main, Sign(secret, main), "not a delivery id")).Status);

        // Remembered in grain state: a restarted API still knows it.
        await _api.DisposeAsync(keepData: true);
        await using var restarted = new InProcessApi(_api.DataDirectory, new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:ConcurrentBuilds"] = "0" });
        restarted.Clock.Set(_api.Clock.GetUtcNow());
        (await HookAsync("web", main, Sign(secret, main), delivery, restarted)).Expect(HttpStatusCode.OK);
        var feature = Push("feature", new string('2', 40), pushedAt: restarted.Clock.GetUtcNow());
        (await HookAsync("web", feature, Sign(secret, feature), Guid.NewGuid().ToString(), restarted)).Expect(HttpStatusCode.Accepted);
        await restarted.LoginAsync(owner);
        var listed = (await restarted.GetAsync("/api/v1/orgs/acme/projects/web/deployments", owner.AccessToken)).Expect(HttpStatusCode.OK).Items();
        Assert.Equal(2, listed.Count);
        Assert.Single(listed, d => d!.Text("id") == first.Text("id"));
    }

    [Fact]
    public async Task A_push_whose_signed_pushed_at_is_older_than_the_replay_window_is_refused_naming_it()
    {
        var owner = await OwnerOfAcmeAsync();
        var secret = (await _api.PostAsync("/api/v1/orgs/acme/projects", new { name = "web", git_url = "https://git.example.test/acme/web.git" }, owner.AccessToken))
            .Expect(HttpStatusCode.Created).Text("webhook_secret");
        var captured = Push("main", new string('1', 40), pushedAt: _api.Clock.GetUtcNow());
        (await HookAsync("web", captured, Sign(secret, captured), Guid.NewGuid().ToString())).Expect(HttpStatusCode.Accepted);

        // Four days later the deliveries of then may be forgotten, so the push's own signed time refuses it.
        _api.Clock.Advance(TimeSpan.FromDays(4));
        var stale = await HookAsync("web", captured, Sign(secret, captured), Guid.NewGuid().ToString());
        Assert.True(stale.Status == HttpStatusCode.BadRequest && stale.Json["errors"]?["repository.pushed_at"] is not null, stale.Body);
        var fresh = Push("main", new string('3', 40), pushedAt: _api.Clock.GetUtcNow());
        (await HookAsync("web", fresh, Sign(secret, fresh), Guid.NewGuid().ToString())).Expect(HttpStatusCode.Accepted);
        await _api.LoginAsync(owner);
        Assert.Equal(2, (await _api.GetAsync("/api/v1/orgs/acme/projects/web/deployments", owner.AccessToken)).Expect(HttpStatusCode.OK).Items().Count);
    }

    private async Task<Account> OwnerOfAcmeAsync()
    {
        var owner = await _api.SignUpAndLoginAsync("owner@acme.test", verifyEmail: true);
        (await _api.PostAsync("/api/v1/orgs", new { slug = "acme", name = "Acme" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        return owner;
    }

    private async Task ExpectFieldAsync(string field, HttpMethod method, string path, object? body, Account caller)
    {
        var answer = await _api.SendAsync(method, path, body, caller.AccessToken);
        Assert.True(answer.Status == HttpStatusCode.BadRequest && answer.MediaType == "application/problem+json", $"{method} {path}: {(int)answer.Status} {answer.Body}");
        Assert.True(answer.Json["errors"]?[field] is not null, $"{method} {path}: no error for '{field}' in {answer.Body}");
    }

    /// <param name="pushedAt">GitHub's <c>repository.pushed_at</c> (Unix seconds), when given.</param>
    private static byte[] Push(string branch, string commit, DateTimeOffset? pushedAt = null) =>
        Encoding.UTF8.GetBytes($"{{\"ref\":\"refs/heads/{branch}\",\"before\":\"{new string('0', 40)}\",\"after\":\"{commit}\",\"repository\":{{\"full_name\":\"acme/web\"" +
                               (pushedAt is { } at ? $",\"pushed_at\":{at.ToUnixTimeSeconds()}" : "") + "}}");

    private static string Sign(string secret, byte[] payload) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), payload));

    private async Task<Answer> HookAsync(string project, byte[] payload, string? signature, string? deliveryId = null, InProcessApi? api = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/orgs/acme/projects/{project}/hooks/git") { Content = new ByteArrayContent(payload) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-GitHub-Event", "push");
        if (signature is not null) request.Headers.Add("X-Hub-Signature-256", signature);
        if (deliveryId is not null) request.Headers.TryAddWithoutValidation("X-GitHub-Delivery", deliveryId);
        using var response = await (api ?? _api).Http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return new Answer(response.StatusCode, text, null, response.Content.Headers.ContentType?.MediaType, $"POST {request.RequestUri}");
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();
}
