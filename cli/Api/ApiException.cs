using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CloudDeck.Cli.Api;

/// <summary>The API answered with an error. <see cref="Exception.Message"/> is one line, ready for stderr.</summary>
public sealed class ApiException(HttpStatusCode status, string message, ApiProblem? problem = null) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>The ProblemDetails body, with its typed properties; null when the answer had none (a proxy's HTML page).</summary>
    public ApiProblem? Problem { get; } = problem;

    /// <summary>The body as ProblemDetails, or null when it is not JSON.</summary>
    public static ApiProblem? Parse(string body)
    {
        try
        {
            return string.IsNullOrWhiteSpace(body) ? null : ApiProblem.From(JsonNode.Parse(body));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// One line from a ProblemDetails body: "title: detail" plus the named fields when the detail does not already
    /// name them, and a quota refusal's limit, usage and reset from its properties; a non-JSON body is shown as text
    /// (shortened) so proxies' HTML error pages stay readable.
    /// </summary>
    public static string Describe(HttpStatusCode status, string? reason, string body) => Describe(status, reason, body, Parse(body));

    public static string Describe(HttpStatusCode status, string? reason, string body, ApiProblem? problem)
    {
        var code = $"{(int)status} {reason ?? status.ToString()}".Trim();
        if (problem is null)
        {
            var text = OneLine(body);
            return text.Length == 0 ? code : $"{code}: {Shorten(text, 200)}";
        }

        var detail = problem.Detail;
        var parts = new List<string>();
        foreach (var (field, messages) in problem.Errors)
        {
            if (detail is null || !detail.Contains(field, StringComparison.Ordinal)) parts.Add($"{field}: {messages}");
        }

        if (problem.Quota() is { } quota) parts.Add(quota);
        var head = problem.Title is { Length: > 0 } title ? title : code;
        var message = string.Join("; ", new[] { detail }.Concat(parts).Where(p => !string.IsNullOrWhiteSpace(p)));
        return OneLine(message.Length == 0 ? $"{head} ({code})" : $"{head} ({(int)status}): {message}");
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..max] + "…";
}
