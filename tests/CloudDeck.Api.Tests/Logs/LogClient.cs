using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace CloudDeck.Api.Tests.Logs;

/// <summary>One signed-up user of a running API: their access token and personal organization.</summary>
internal sealed record LogUser(string Email, string AccessToken, string Organization);

/// <summary>One Server-Sent Event as a client sees it.</summary>
internal sealed record ServerSentEvent(string? Id, string Event, string Data)
{
    public JsonNode Json => JsonNode.Parse(Data)!;
}

/// <summary>What the tests do against a real API process over HTTP: sign up, start synthetic builds, read and follow logs.</summary>
internal static class LogClient
{
    public const string Password = "correct horse battery staple";

    public static async Task<LogUser> SignUpAsync(HttpClient http, string email, CancellationToken cancellationToken)
    {
        using var signUp = await http.PostAsJsonAsync("api/v1/auth/signup", new { email, password = Password }, cancellationToken);
        await Expect(signUp, HttpStatusCode.Accepted, cancellationToken);
        using var login = await http.PostAsJsonAsync("api/v1/auth/login", new { email, password = Password }, cancellationToken);
        var accessToken = (await Expect(login, HttpStatusCode.OK, cancellationToken))["access_token"]!.GetValue<string>();
        // Sign-up answers alike for new and registered addresses: the personal organization is read from the account.
        using var me = new HttpRequestMessage(HttpMethod.Get, "api/v1/me");
        me.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var account = await http.SendAsync(me, cancellationToken);
        var organization = (await Expect(account, HttpStatusCode.OK, cancellationToken))["organizations"]![0]!["slug"]!.GetValue<string>();
        return new LogUser(email, accessToken, organization);
    }

    /// <returns>The new build's id.</returns>
    public static async Task<string> StartBuildAsync(HttpClient http, LogUser user, int lines, int linesPerSecond, int lineBytes, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "_diag/builds")
        {
            Content = JsonContent.Create(new { org = user.Organization, lines, lines_per_second = linesPerSecond, line_bytes = lineBytes }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
        using var response = await http.SendAsync(request, cancellationToken);
        return (await Expect(response, HttpStatusCode.Created, cancellationToken))["id"]!.GetValue<string>();
    }

    public static async Task<HttpResponseMessage> GetAsync(HttpClient http, string path, LogUser user, CancellationToken cancellationToken,
        string? lastEventId = null, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        return await http.SendAsync(request, completion, cancellationToken);
    }

    /// <summary>The events of an SSE response as they arrive (comments and the retry field skipped).</summary>
    public static async IAsyncEnumerable<ServerSentEvent> ReadEventsAsync(HttpResponseMessage response,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        string? id = null, name = null, data = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null) yield return new ServerSentEvent(id, name ?? "message", data);
                id = name = data = null;
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon == 0) continue; // a comment: the heartbeat
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id": id = value; break;
                case "event": name = value; break;
                case "data": data = data is null ? value : data + "\n" + value; break;
            }
        }
    }

    public static async Task<JsonNode> Expect(HttpResponseMessage response, HttpStatusCode status, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.StatusCode == status,
            $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}, expected {(int)status}: {text}");
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
    }
}
