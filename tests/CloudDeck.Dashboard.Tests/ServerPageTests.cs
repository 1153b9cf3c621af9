using System.Net;
using CloudDeck.Testing;
using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Tests;

/// <summary>A real Node server deployment: its process state and the end of its runtime log on the deployment and project pages.</summary>
[Trait("needs", "pipeline")]
public sealed class ServerPageTests : DashboardTest
{
    private const string SecretValue = "s3cr3t-dashboard-value-4711";

    private const string Server = """
        const http = require('http');
        const port = Number(process.env.PORT);
        http.createServer((req, res) => {
          console.log(`request ${req.url} key=${process.env.API_KEY}`);
          res.end('ok');
        }).listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
        """;

    [Fact]
    public async Task A_server_deployments_page_shows_its_state_restarts_exit_code_and_masked_runtime_log()
    {
        if (NodeHarness.MissingReason is { } missing)
        {
            if (Requirement.IsCi) Assert.Fail(missing);
            Assert.Skip(missing);
        }

        await StartAsync(new Dictionary<string, string?>
        {
            ["CloudDeck__Projects__AllowLocalSources"] = "true",
            ["CloudDeck__Servers__HealthCheckTimeout"] = "00:00:10",
        });
        var owner = await VerifiedAsync("server@example.com");
        var org = owner.Organization;
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, $"api/v1/orgs/{org}/projects", owner.AccessToken, new { name = "api", local_path = await RepositoryAsync() }), HttpStatusCode.Created);
        await ExpectOkAsync(await SendAsync(HttpMethod.Put, $"api/v1/orgs/{org}/projects/api/env/production/API_KEY", owner.AccessToken, new { value = SecretValue }), HttpStatusCode.OK);
        using var created = await SendAsync(HttpMethod.Post, $"api/v1/orgs/{org}/projects/api/deployments", owner.AccessToken, new { target = "production", git_ref = "main" });
        var id = (await ExpectAsync(created, HttpStatusCode.Created))["id"]!.GetValue<string>();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            using var read = await SendAsync(HttpMethod.Get, $"api/v1/deployments/{id}", owner.AccessToken);
            var status = (await ExpectAsync(read, HttpStatusCode.OK))["status"]!.GetValue<string>();
            if (status == "ready") break;
            Assert.True(status is "building" or "queued" && DateTime.UtcNow < deadline, $"deployment {id} is {status}");
            await Task.Delay(200, Cancellation);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, "/from-the-test"))
        {
            request.Headers.Host = $"api-{org}.localhost:{Api.BaseAddress.Port}";
            using var served = await Api.Http.SendAsync(request, Cancellation);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        var page = await NewPageAsync();
        await LogInAsync(page, owner.Email);
        await page.GotoAsync($"/orgs/{org}/projects/api");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Production server" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "runtime log" }).ClickAsync();
        var server = page.Locator("section.server");
        await Assertions.Expect(server.Locator(".status")).ToHaveTextAsync("healthy");
        await Assertions.Expect(page.Locator("#server-restarts")).ToHaveTextAsync("0");
        await Assertions.Expect(page.Locator("#server-exit")).ToHaveTextAsync("none");
        var log = page.GetByRole(AriaRole.Log, new() { Name = "Runtime log" });
        await Assertions.Expect(log).ToContainTextAsync("listening on");
        await Assertions.Expect(log).ToContainTextAsync("request /from-the-test key=***");
        Assert.DoesNotContain(SecretValue, await page.ContentAsync(), StringComparison.Ordinal);
    }

    private async Task<string> RepositoryAsync()
    {
        var repo = Site("node-server", new Dictionary<string, string>
        {
            ["package.json"] = """{ "name": "node-server", "version": "1.0.0", "private": true, "scripts": { "start": "node server.js" } }""",
            ["package-lock.json"] = """{ "name": "node-server", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": { "": { "name": "node-server", "version": "1.0.0" } } }""",
            ["server.js"] = Server,
        });
        foreach (var args in new[] { new[] { "init", "-q", "-b", "main" }, ["add", "-A"], ["commit", "-q", "-m", "Node server"] })
        {
            await using var git = ChildProcess.Start("git", args, new Dictionary<string, string?>
            {
                ["GIT_AUTHOR_NAME"] = "Test", ["GIT_AUTHOR_EMAIL"] = "test@example.com",
                ["GIT_COMMITTER_NAME"] = "Test", ["GIT_COMMITTER_EMAIL"] = "test@example.com",
            }, repo);
            Assert.True(await git.WaitForExitAsync(TimeSpan.FromMinutes(1), Cancellation) && git.ExitCode == 0, $"git {string.Join(' ', args)}:\n{git.Output}");
        }

        return repo;
    }
}
