using System.Net.Http.Json;
using System.Reflection;

namespace CloudDeck.Cli;

/// <summary>
/// <c>deck</c>, the CloudDeck command line. Exit codes: 0 success, 1 the command failed, 2 bad usage.
/// Arguments are parsed by hand: a few commands do not justify a parser package.
/// </summary>
public static class Program
{
    public const string DefaultApi = "http://localhost:8080";
    public const string ApiVariable = "CLOUDDECK_API";

    private const string Usage = """
        Usage: deck <command> [options]

        Commands:
          health [--api URL]   Check that the CloudDeck API answers GET /healthz.
          version              Print the version of deck (also: deck --version).
          help                 Print this text.

        Options:
          --api URL            The CloudDeck API (default: $CLOUDDECK_API, else http://localhost:8080).
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0)
        {
            await Console.Error.WriteLineAsync(Usage);
            return 2;
        }

        switch (args[0])
        {
            case "--version" or "version" when args.Length == 1:
                Console.WriteLine(Version);
                return 0;
            case "help" or "--help" or "-h" when args.Length == 1:
                Console.WriteLine(Usage);
                return 0;
            case "health":
                return ParseApi(args.AsSpan(1), out var api) is { } error ? await UsageError(error) : await Health(api);
            default:
                return await UsageError($"unknown command or arguments: {string.Join(' ', args)}");
        }
    }

    public static string Version =>
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(Program).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    private static async Task<int> Health(Uri api)
    {
        var url = new Uri(api, "healthz");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var response = await http.GetAsync(url);
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync();
                await Console.Error.WriteLineAsync(
                    $"error: {url} answered {(int)response.StatusCode} {response.ReasonPhrase}{(body.Length > 0 ? ": " + body : "")}");
                return 1;
            }

            var health = await response.Content.ReadFromJsonAsync<HealthView>();
            if (health?.Status != "ok")
            {
                await Console.Error.WriteLineAsync($"error: {url} reports status '{health?.Status}'");
                return 1;
            }

            Console.WriteLine($"ok ({health.Activations} activations)");
            return 0;
        }
        catch (HttpRequestException e)
        {
            await Console.Error.WriteLineAsync($"error: cannot reach {url}: {e.Message}");
            return 1;
        }
        catch (TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"error: {url} did not answer within {http.Timeout.TotalSeconds:0} s");
            return 1;
        }
        catch (System.Text.Json.JsonException e)
        {
            await Console.Error.WriteLineAsync($"error: {url} did not answer with CloudDeck health JSON: {e.Message}");
            return 1;
        }
    }

    /// <returns>null on success, otherwise what was wrong.</returns>
    private static string? ParseApi(ReadOnlySpan<string> options, out Uri api)
    {
        api = null!;
        var value = Environment.GetEnvironmentVariable(ApiVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultApi;
        var source = value == DefaultApi ? "default" : ApiVariable;
        for (var i = 0; i < options.Length; i++)
        {
            if (options[i] == "--api")
            {
                if (i + 1 >= options.Length) return "--api needs a URL";
                value = options[++i];
            }
            else if (options[i].StartsWith("--api=", StringComparison.Ordinal))
            {
                value = options[i]["--api=".Length..];
            }
            else
            {
                return $"unexpected argument '{options[i]}'";
            }
            source = "--api";
        }

        // A trailing slash makes "healthz" resolve below any path prefix (http://host/deck/ → /deck/healthz).
        if (!Uri.TryCreate(value.EndsWith('/') ? value : value + "/", UriKind.Absolute, out var parsed)
            || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
        {
            return $"{source} '{value}' is not an http(s) URL";
        }

        api = parsed;
        return null;
    }

    private static async Task<int> UsageError(string message)
    {
        await Console.Error.WriteLineAsync($"error: {message}\n\n{Usage}");
        return 2;
    }

    private sealed record HealthView(string? Status, int Activations);
}
