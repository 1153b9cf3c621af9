using System.Text.Json.Nodes;

namespace CloudDeck.Api.Tests.OpenApi;

/// <summary>One real API process (embedded, its own data directory) shared by a test class, and its OpenAPI document.</summary>
public sealed class ServedApi : IAsyncLifetime
{
    public const string DocumentPath = "/openapi/v1.json";

    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("clouddeck-openapi-").FullName;
    private ApiHost? _host;

    internal ApiHost Host => _host ?? throw new InvalidOperationException("The API has not started.");

    /// <summary>openapi.json at the repository's root: what <c>./build.sh openapi</c> writes.</summary>
    public static string CheckedInPath => Path.Combine(RepoPaths.Root, "openapi.json");

    public async ValueTask InitializeAsync() => _host = await ApiHost.StartAsync(_dataDirectory);

    public async Task<JsonObject> DocumentAsync(CancellationToken cancellationToken)
    {
        using var response = await Host.Http.GetAsync(new Uri(DocumentPath, UriKind.Relative), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"GET {DocumentPath} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
