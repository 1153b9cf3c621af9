using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CloudDeck.Cli.Api;

/// <summary>The API answered with an error. <see cref="Exception.Message"/> is one line, ready for stderr.</summary>
public sealed class ApiException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>
    /// One line from a ProblemDetails body: "title: detail" plus the named fields when the detail does not already
    /// name them; a non-JSON body is shown as text (shortened) so proxies' HTML error pages stay readable.
    /// </summary>
    public static string Describe(HttpStatusCode status, string? reason, string body)
    {
        var code = $"{(int)status} {reason ?? status.ToString()}".Trim();
        JsonNode? problem = null;
        try
        {
            if (!string.IsNullOrWhiteSpace(body)) problem = JsonNode.Parse(body);
        }
        catch (JsonException)
        {
        }

        if (problem is not JsonObject)
        {
            var text = OneLine(body);
            return text.Length == 0 ? code : $"{code}: {Shorten(text, 200)}";
        }

        var title = Fields.Text(problem, "title");
        var detail = Fields.Text(problem, "detail");
        var parts = new List<string>();
        if (Fields.Get(problem, "errors") is JsonObject errors)
        {
            foreach (var (field, messages) in errors)
            {
                var joined = messages is JsonArray list ? string.Join("; ", list.Select(m => m?.GetValue<string>())) : messages?.ToString();
                if (detail is null || !detail.Contains(field, StringComparison.Ordinal)) parts.Add($"{field}: {joined}");
            }
        }

        var head = title is { Length: > 0 } ? title : code;
        var message = string.Join("; ", new[] { detail }.Concat(parts).Where(p => !string.IsNullOrWhiteSpace(p)));
        return OneLine(message.Length == 0 ? $"{head} ({code})" : $"{head} ({(int)status}): {message}");
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..max] + "…";
}
