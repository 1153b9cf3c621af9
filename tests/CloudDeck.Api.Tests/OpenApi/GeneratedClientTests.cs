using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace CloudDeck.Api.Tests.OpenApi;

/// <summary>
/// A client generated from the checked-in openapi.json with standard tools (openapi-typescript for the types,
/// openapi-fetch for the calls, both from npm in tests/js), compiled by tsc in strict mode, and used against the real
/// API process as a new user would: sign up, log in, create a project, list its deployments.
/// </summary>
public sealed class GeneratedClientTests : ProcessTest
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(3);

    public GeneratedClientTests() => Need.Component(NodeHarness.MissingReason);

    [Fact]
    public async Task A_typescript_client_generated_from_openapi_json_signs_up_creates_a_project_and_lists_deployments()
    {
        var client = Path.Combine(NodeHarness.ScriptsDirectory, "client");
        foreach (var folder in new[] { "generated", "out" })
        {
            if (Directory.Exists(Path.Combine(client, folder))) Directory.Delete(Path.Combine(client, folder), recursive: true);
        }

        await RunToolAsync("openapi-typescript", "node_modules/openapi-typescript/bin/cli.js",
            [Path.Combine(RepoPaths.Root, "openapi.json"), "--output", "client/generated/clouddeck.d.ts"]);
        Assert.True(File.Exists(Path.Combine(client, "generated", "clouddeck.d.ts")), "openapi-typescript wrote no types.");
        await RunToolAsync("tsc", "node_modules/typescript/bin/tsc", ["--project", "client"]);

        var host = await StartApiAsync();
        const string email = "ada@example.com", password = "a long password 42";
        var run = await NodeHarness.RunAsync("client/out/walkthrough.js", [host.BaseAddress.ToString().TrimEnd('/'), email, password], ToolTimeout, Cancellation);
        Assert.True(run.ExitCode == 0, $"The generated client's walkthrough failed (exit {run.ExitCode}):\n{run.Output}\n{host.Describe()}");
        var seen = JsonNode.Parse(run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(line => line.StartsWith('{')))!;

        Assert.Equal(email, seen["signUp"]!["email"]!.GetValue<string>());
        Assert.Equal("ada", seen["organization"]!.GetValue<string>());
        Assert.Equal("web", seen["project"]!.GetValue<string>());
        Assert.Empty(seen["deployments"]!.AsArray());
        Assert.Equal(404, seen["refusal"]!["status"]!.GetValue<int>());
        Assert.Equal("Not found", seen["refusal"]!["title"]!.GetValue<string>());

        // What the client did is there for anyone else who signs in as Ada.
        using var login = await host.Http.PostAsJsonAsync("/api/v1/auth/login", new { email, password }, Cancellation);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var tokens = JsonNode.Parse(await login.Content.ReadAsStringAsync(Cancellation))!;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/orgs/ada/projects/web");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens["access_token"]!.GetValue<string>());
        using var project = await host.Http.SendAsync(request, Cancellation);
        Assert.Equal(HttpStatusCode.OK, project.StatusCode);
    }

    private static async Task RunToolAsync(string name, string script, IEnumerable<string> arguments)
    {
        var run = await NodeHarness.RunAsync(script, arguments, ToolTimeout, Cancellation);
        Assert.True(run.ExitCode == 0, $"{name} failed (exit {run.ExitCode}):\n{run.Output}");
    }
}
