using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;

namespace CloudDeck.Api.Http;

/// <summary>
/// A body the framework binds to a type (rather than <see cref="JsonBody"/>) and cannot read: a member that is not
/// part of the contract (<see cref="ApiJson"/> disallows unmapped members), a wrong type, malformed JSON. Answered as
/// the routes that read field by field answer: a 400 ProblemDetails naming the field, from the reader's own path
/// (<see cref="JsonException.Path"/>), not from its message.
/// </summary>
public sealed class RequestBindingErrors(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad) return false;
        http.Response.StatusCode = bad.StatusCode;
        var problem = bad.InnerException is JsonException json
            ? new HttpValidationProblemDetails(new Dictionary<string, string[]> { [Field(json.Path)] = [Problem(json)] })
            {
                Title = "The request is invalid",
                Detail = $"{Field(json.Path)} {Problem(json)}",
                Status = bad.StatusCode,
                Extensions = { ["field"] = Field(json.Path) },
            }
            : new Microsoft.AspNetCore.Mvc.ProblemDetails { Title = "Bad request", Detail = bad.Message, Status = bad.StatusCode };
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception });
    }

    /// <summary><c>$.files[0].path</c> → <c>files[0].path</c>; the root (<c>$</c>) is the body.</summary>
    public static string Field(string? path) =>
        path is null or "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    /// <summary>One text for an unknown member and a wrong value alike: the reader's path says where, its message is not read.</summary>
    private static string Problem(JsonException json) =>
        json.Path is null or "$" ? "must be a JSON object of this request's fields" : "is not a field of this request (names are snake_case) or has the wrong type";
}
