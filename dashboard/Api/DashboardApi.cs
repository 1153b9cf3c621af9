using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CloudDeck.Dashboard.Session;

namespace CloudDeck.Dashboard.Api;

/// <summary>
/// The public HTTP API as the dashboard's pages call it: the session's access token as the bearer, snake_case bodies,
/// and every error thrown as an <see cref="ApiProblem"/> carrying its ProblemDetails' words.
/// </summary>
public sealed partial class DashboardApi(HttpClient http, DashboardSession session)
{
    public const string HttpClientName = "clouddeck-api";

    public async Task<JsonNode?> SendAsync(HttpMethod method, string path, object? body = null, bool anonymous = false, CancellationToken cancellation = default)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null) request.Content = JsonContent.Create(body, options: DashboardJson.Options);
        if (!anonymous && session.Tokens is { } tokens) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        using var response = await http.SendAsync(request, cancellation);
        var text = await response.Content.ReadAsStringAsync(cancellation);
        if (!response.IsSuccessStatusCode) throw ApiProblem.From(response.StatusCode, text);
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    /// <summary>A plain-text answer (a log), as it came.</summary>
    public async Task<string> GetTextAsync(string path, CancellationToken cancellation = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path.TrimStart('/'));
        if (session.Tokens is { } tokens) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        using var response = await http.SendAsync(request, cancellation);
        var text = await response.Content.ReadAsStringAsync(cancellation);
        if (!response.IsSuccessStatusCode) throw ApiProblem.From(response.StatusCode, text);
        return text;
    }

    public Task<JsonNode?> GetAsync(string path, CancellationToken cancellation = default) => SendAsync(HttpMethod.Get, path, cancellation: cancellation);

    public Task<JsonNode?> PostAsync(string path, object? body = null, CancellationToken cancellation = default) => SendAsync(HttpMethod.Post, path, body, cancellation: cancellation);

    public async Task<T> GetAsync<T>(string path, CancellationToken cancellation = default) => DashboardJson.Read<T>(await GetAsync(path, cancellation));

    public static string Escape(string segment) => Uri.EscapeDataString(segment);
}
