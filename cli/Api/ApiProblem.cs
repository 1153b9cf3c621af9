using System.Globalization;
using System.Text.Json.Nodes;

namespace CloudDeck.Cli.Api;

/// <summary>
/// A ProblemDetails answer (RFC 9457) as deck reads it: its text, the fields it names (<c>errors</c>) and the typed
/// extension properties the API adds to a refusal, which deck reads as values rather than out of the detail's text.
/// </summary>
/// <param name="Limit">For a quota refusal (402, 429): the limit reached, such as <c>projects</c> or <c>builds_per_day</c>.</param>
/// <param name="Current">How much of it is used.</param>
/// <param name="Maximum">What the plan allows.</param>
/// <param name="ResetsAt">When a counter of a period starts again; null for limits that do not reset.</param>
/// <param name="Field">The one field a refusal is about, when it names one.</param>
public sealed record ApiProblem(
    string? Title,
    string? Detail,
    IReadOnlyList<(string Field, string Problem)> Errors,
    string? Field,
    string? Limit,
    long? Current,
    long? Maximum,
    DateTimeOffset? ResetsAt)
{
    public static ApiProblem? From(JsonNode? body) => body is not JsonObject problem ? null : new(
        Fields.Text(problem, "title"),
        Fields.Text(problem, "detail"),
        Fields.Get(problem, "errors") is JsonObject errors
            ? [.. errors.Select(e => (e.Key, e.Value is JsonArray list ? string.Join("; ", list.Select(m => m?.GetValue<string>())) : e.Value?.ToString() ?? ""))]
            : [],
        Fields.Text(problem, "field"),
        Fields.Text(problem, "limit"),
        Fields.Number(problem, "current"),
        Fields.Number(problem, "maximum"),
        Fields.Time(problem, "resets_at"));

    /// <summary>"projects: 3 of 3, resets 2026-12-01 00:00 UTC" for a quota refusal; null for any other problem.</summary>
    public string? Quota() => Limit is null || Current is null || Maximum is null
        ? null
        : string.Create(CultureInfo.InvariantCulture, $"{Limit}: {Current} of {(Maximum < 0 ? "unlimited" : Maximum.Value.ToString(CultureInfo.InvariantCulture))}") +
          (ResetsAt is { } at ? string.Create(CultureInfo.InvariantCulture, $", resets {at.UtcDateTime:yyyy-MM-dd HH:mm} UTC") : "");
}
