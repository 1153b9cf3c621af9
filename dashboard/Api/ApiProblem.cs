using System.Net;
using System.Text.Json.Nodes;

namespace CloudDeck.Dashboard.Api;

/// <summary>An answer of 4xx/5xx from the API, in the words of its ProblemDetails (title, detail, and each field's errors).</summary>
public sealed class ApiProblem(HttpStatusCode status, string title, string? detail, IReadOnlyDictionary<string, string[]> errors)
    : Exception(detail is null ? title : $"{title}: {detail}")
{
    public HttpStatusCode Status { get; } = status;

    public string Title { get; } = title;

    public string? Detail { get; } = detail;

    /// <summary>Field name → what was wrong with it (ProblemDetails' "errors").</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;

    public bool IsNotFound => Status == HttpStatusCode.NotFound;

    public bool IsUnauthorized => Status == HttpStatusCode.Unauthorized;

    /// <summary>Every sentence worth showing: the detail (or title), then "field: message" per field error.</summary>
    public IEnumerable<string> Sentences()
    {
        yield return Detail ?? Title;
        foreach (var (field, messages) in Errors)
        {
            foreach (var message in messages) yield return $"{field}: {message}";
        }
    }

    public static ApiProblem From(HttpStatusCode status, string body)
    {
        JsonNode? problem = null;
        try
        {
            problem = body.Length > 0 ? JsonNode.Parse(body) : null;
        }
        catch (System.Text.Json.JsonException)
        {
            // Not ProblemDetails (a proxy's page, say): the status alone must do.
        }

        var title = problem?["title"]?.GetValue<string>() ?? $"The API answered {(int)status} {status}";
        var detail = problem?["detail"]?.GetValue<string>();
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (problem?["errors"] is JsonObject fields)
        {
            foreach (var (field, messages) in fields)
            {
                errors[field] = messages is JsonArray list ? [.. list.Select(m => m?.ToString() ?? "")] : [messages?.ToString() ?? ""];
            }
        }

        return new ApiProblem(status, title, detail, errors);
    }
}
