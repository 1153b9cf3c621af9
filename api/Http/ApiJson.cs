using System.Text.Json;
using System.Text.Json.Serialization;

namespace CloudDeck.Api.Http;

/// <summary>
/// The API's one JSON contract, for every body it reads or writes (answers, ProblemDetails, SSE event data, SignalR
/// payloads): snake_case names, as Stripe's and GitHub's APIs use. A member that is not part of a request is refused
/// (a 400 naming it), never silently ignored: a camelCase <c>refreshToken</c> is not <c>refresh_token</c>.
/// </summary>
public static class ApiJson
{
    /// <summary>Sets the contract on the options the framework hands out (HTTP JSON options, SignalR's payload options).</summary>
    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        // Dictionary keys are data (usage kinds, environment names, field names in "errors"): written as they are.
        options.DictionaryKeyPolicy = null;
        options.PropertyNameCaseInsensitive = false;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        return options;
    }

    /// <summary>
    /// The framework's own extension (<c>traceId</c>) under the contract's name. Extension keys are written as they are
    /// (the naming policy does not reach them), so every key the API adds is snake_case where it is added.
    /// </summary>
    public static void CustomizeProblemDetails(ProblemDetailsContext context)
    {
        var extensions = context.ProblemDetails.Extensions;
        foreach (var key in extensions.Keys.Where(key => ToContractName(key) != key).ToList())
        {
            extensions[ToContractName(key)] = extensions[key];
            extensions.Remove(key);
        }
    }

    /// <summary>The name a member of another case would have under the contract (<c>refreshToken</c> → <c>refresh_token</c>).</summary>
    public static string ToContractName(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);

    /// <summary>What a member that is not part of the request is told; names the contract's spelling when that is what was meant.</summary>
    public static string UnknownMember(string name, IReadOnlyCollection<string> known)
    {
        var meant = ToContractName(name);
        return meant != name && known.Contains(meant)
            ? $"is not a field of this request: names are snake_case, so send '{meant}'"
            : known.Count == 0
                ? "is not a field of this request (it takes none)"
                : $"is not a field of this request (its fields are {string.Join(", ", known.Order(StringComparer.Ordinal))})";
    }
}
