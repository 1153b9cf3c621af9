using System.CommandLine;
using CloudDeck.Cli.Api;
using CloudDeck.Cli.Config;
using CloudDeck.Cli.Output;

namespace CloudDeck.Cli.Commands;

/// <summary>Bad usage found after parsing (a missing link, a malformed URL): exit code 2, like a parse error.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The global options and what they resolve to: which API, which credentials, which linked project.</summary>
public sealed class Context
{
    public const string DefaultApi = "http://localhost:8080";
    public const string ApiVariable = "CLOUDDECK_API";
    public const string TokenVariable = "CLOUDDECK_TOKEN";

    public static readonly Option<string?> ApiOption = new("--api")
    {
        Description = $"The CloudDeck API (default: ${ApiVariable}, else {DefaultApi}).",
        Recursive = true,
        HelpName = "URL",
    };

    public static readonly Option<string?> TokenOption = new("--token")
    {
        Description = $"An API token (default: ${TokenVariable}, else the credentials stored by deck login).",
        Recursive = true,
        HelpName = "TOKEN",
    };

    private Context(ParseResult parse)
    {
        Api = ResolveApi(parse.GetValue(ApiOption));
        var explicitToken = parse.GetValue(TokenOption);
        Token = explicitToken is { Length: > 0 } ? explicitToken
            : Environment.GetEnvironmentVariable(TokenVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
    }

    public static Context From(ParseResult parse) => new(parse);

    /// <summary>The API base URL, always ending in '/' so relative paths resolve below any path prefix.</summary>
    public Uri Api { get; }

    /// <summary>--token or $CLOUDDECK_TOKEN; null means the stored credentials.</summary>
    public string? Token { get; }

    public AuthStore Store { get; } = AuthStore.Default();

    public Terminal Out { get; } = Terminal.Console;

    public ApiClient Client() => new(Api, Token, Store);

    /// <summary>An authenticated client; usage error when there are no credentials at all.</summary>
    public ApiClient AuthenticatedClient()
    {
        var client = Client();
        if (client.HasCredentials) return client;
        client.Dispose();
        // Exit 1, not 2: the command was used correctly, the machine is just not logged in.
        throw new InvalidOperationException($"not logged in to {Api}: run deck login (or pass --token / set ${TokenVariable})");
    }

    /// <summary>The project linked to <paramref name="directory"/> or an ancestor.</summary>
    public static (ProjectLink Link, string Root) Linked(string directory) =>
        ProjectLink.Find(directory)
        ?? throw new InvalidOperationException($"{Path.GetFullPath(directory)} is not linked to a project: run deck link or deck init");

    public static Uri ResolveApi(string? option)
    {
        var (value, source) = option is { Length: > 0 } ? (option, "--api")
            : Environment.GetEnvironmentVariable(ApiVariable) is { Length: > 0 } fromEnvironment ? (fromEnvironment, "$" + ApiVariable)
            : (DefaultApi, "the default API");
        // A trailing slash makes "healthz" resolve below any path prefix (http://host/deck/ → /deck/healthz).
        if (!Uri.TryCreate(value.EndsWith('/') ? value : value + "/", UriKind.Absolute, out var parsed)
            || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
        {
            throw new UsageException($"{source} '{value}' is not an http(s) URL");
        }

        return parsed;
    }

    public static string Escape(string segment) => Uri.EscapeDataString(segment);

    public static string ProjectPath(ProjectLink link) => $"api/v1/orgs/{Escape(link.Org)}/projects/{Escape(link.Project)}";
}
