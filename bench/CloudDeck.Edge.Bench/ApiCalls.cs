using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CloudDeck.Testing;

namespace CloudDeck.Edge.Bench;

/// <summary>The REST calls the benches make against the real API process they start.</summary>
internal static class ApiCalls
{
    /// <summary>Sends <paramref name="body"/> as JSON and answers the JSON reply; a non-2xx answer throws with its body.</summary>
    public static async Task<JsonNode> CallAsync(HttpClient http, HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{method} {path} answered {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
    }

    /// <summary>
    /// The signed-in user's personal organization (their only one right after sign-up), read from their account: sign-up
    /// answers alike for new and registered addresses, so it does not name it.
    /// </summary>
    public static async Task<string> PersonalOrganizationAsync(HttpClient http) =>
        (await CallAsync(http, HttpMethod.Get, "api/v1/me", null))["organizations"]![0]!["slug"]!.GetValue<string>();

    /// <summary>Waits until <c>/healthz</c> answers (up to a minute); throws with the API's output when it exited or never did.</summary>
    public static Task WaitHealthyAsync(HttpClient http, ChildProcess api) => HealthWait.UntilHealthyAsync(http, api);
}
