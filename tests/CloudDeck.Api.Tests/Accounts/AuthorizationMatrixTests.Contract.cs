using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CloudDeck.Api.Tests.Accounts;

/// <summary>
/// The matrix's routes, walked for the API's one JSON contract (docs/api.md): every JSON answer of every route, as
/// every kind of caller, names its properties in snake_case, at every depth; every 201 says where the new thing is.
/// </summary>
public sealed partial class AuthorizationMatrixTests
{
    /// <summary>Lower-case letters and digits, in words joined by single underscores.</summary>
    private static readonly Regex SnakeCase = new("^[a-z][a-z0-9]*(_[a-z0-9]+)*$", RegexOptions.CultureInvariant);

    /// <summary>Routes whose JSON is another protocol's, not the API's: OpenAPI's document, SignalR's handshake, Orleans' dashboard.</summary>
    private static bool SpeaksAnotherProtocol(string route) =>
        route.StartsWith("GET /openapi/", StringComparison.Ordinal) || route.StartsWith("ANY /hubs/", StringComparison.Ordinal)
        || route.StartsWith("GET /_operator/dashboard", StringComparison.Ordinal);

    /// <summary>
    /// Objects whose keys are data, not property names: a ProblemDetails' <c>errors</c> names request fields (route
    /// parameters and headers keep their own names), usage <c>totals</c> are keyed by usage kind, a license's
    /// <c>quotas</c> by quota name, /readyz's <c>checks</c> by health check. Their values are still walked.
    /// </summary>
    private static readonly HashSet<string> KeyedByData = new(StringComparer.Ordinal) { "errors", "totals", "quotas", "checks" };

    [Fact]
    public async Task Every_JSON_answer_of_every_route_names_its_properties_in_snake_case_and_every_201_has_a_Location()
    {
        var callers = await SetUpCallersAsync();
        // Server-Sent Events carry JSON too: a followed build log's line and completed events (read first: the matrix
        // changes the owner's password and MFA, which ends their session).
        var events = await FollowedLogEventsAsync(await AcmeBuildAsync());
        Assert.Contains(events, e => e.Event == "completed");
        var failures = new List<string>();
        var walked = 0;
        var problems = 0;
        await CallEveryRouteAsync(Matrix(), callers, (route, i, answer) =>
        {
            if (answer.Status == HttpStatusCode.Created && answer.Location is null) failures.Add($"{route} as {CallerNames[i]}: 201 without a Location header");
            if (SpeaksAnotherProtocol(route) || answer.MediaType is not ("application/json" or "application/problem+json") || answer.Body.Length == 0) return;
            walked++;
            if (answer.MediaType == "application/problem+json") problems++;
            foreach (var name in NotSnakeCase(JsonNode.Parse(answer.Body), "$"))
            {
                failures.Add($"{route} as {CallerNames[i]} ({(int)answer.Status}): '{name}' is not snake_case in {answer.Body}");
            }
        });

        foreach (var (name, data) in events)
        {
            walked++;
            foreach (var bad in NotSnakeCase(JsonNode.Parse(data), "$")) failures.Add($"SSE '{name}' event: '{bad}' is not snake_case in {data}");
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures.Distinct()));
        // The walk saw the API's answers, its refusals among them, not a handful of empty bodies.
        Assert.True(walked > 300 && problems > 100, $"walked {walked} JSON answers, {problems} of them ProblemDetails");
    }

    /// <summary>Each property name, at any depth, that is not snake_case, with its path.</summary>
    private static IEnumerable<string> NotSnakeCase(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (!SnakeCase.IsMatch(key)) yield return $"{path}.{key}";
                    var keyedByData = KeyedByData.Contains(key) && value is JsonObject;
                    var children = keyedByData ? value!.AsObject().Select(entry => ($"{path}.{key}[{entry.Key}]", entry.Value)) : [($"{path}.{key}", value)];
                    foreach (var (at, child) in children)
                    {
                        foreach (var bad in NotSnakeCase(child, at)) yield return bad;
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    foreach (var bad in NotSnakeCase(array[i], $"{path}[{i}]")) yield return bad;
                }

                break;
        }
    }

    /// <summary>The events of a build's log followed as Server-Sent Events, until its <c>completed</c> event.</summary>
    private async Task<List<(string Event, string Data)>> FollowedLogEventsAsync(string buildId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/builds/{buildId}/logs?follow=true");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _owner.AccessToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        using var response = await _api.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.True(response.Content.Headers.ContentType?.MediaType == "text/event-stream", await response.Content.ReadAsStringAsync(timeout.Token));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var events = new List<(string, string)>();
        string? name = null;
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line["event: ".Length..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && name is not null)
            {
                events.Add((name, line["data: ".Length..]));
                if (name == "completed") break;
            }
        }

        return events;
    }
}
