using System.Text.Json;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>What detection reads from a package.json: dependency names and versions, scripts, engines.node.</summary>
public sealed class PackageInfo
{
    private static readonly string[] ServerLibraries = ["express", "fastify", "koa", "hono", "@hapi/hapi", "@nestjs/core", "restify", "polka"];

    private readonly Dictionary<string, string> _dependencies;
    private readonly Dictionary<string, string> _scripts;

    private PackageInfo(Dictionary<string, string> dependencies, Dictionary<string, string> scripts, string? nodeEngine)
    {
        _dependencies = dependencies;
        _scripts = scripts;
        NodeEngine = nodeEngine;
    }

    /// <summary><c>engines.node</c>, a semver range ("&gt;=20", "20.x"), or null.</summary>
    public string? NodeEngine { get; }

    public bool Has(string name) => _dependencies.ContainsKey(name);

    /// <summary>The version range a dependency is declared with ("^14.2.3"), or null when it is not one.</summary>
    public string? VersionOf(string name) => _dependencies.GetValueOrDefault(name);

    public bool HasScript(string name) => _scripts.ContainsKey(name);

    public string? Script(string name) => _scripts.GetValueOrDefault(name);

    /// <summary>The first well-known Node server library the package depends on ("express"), for the build log.</summary>
    public string? ServerLibrary() => ServerLibraries.FirstOrDefault(Has);

    /// <summary>The package.json of <paramref name="root"/>; null without one, empty when it is not valid JSON (npm will say why).</summary>
    public static PackageInfo? Read(string root)
    {
        var path = Path.Combine(root, "package.json");
        if (!File.Exists(path)) return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var top = document.RootElement;
            if (top.ValueKind != JsonValueKind.Object) return new PackageInfo([], [], null);
            var dependencies = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var section in new[] { "devDependencies", "dependencies" })
            {
                foreach (var (name, value) in Strings(top, section)) dependencies[name] = value;
            }

            var engine = top.TryGetProperty("engines", out var engines) && engines.ValueKind == JsonValueKind.Object
                && engines.TryGetProperty("node", out var node) && node.ValueKind == JsonValueKind.String ? node.GetString() : null;
            return new PackageInfo(dependencies, Strings(top, "scripts").ToDictionary(StringComparer.Ordinal), engine);
        }
        catch (JsonException)
        {
            return new PackageInfo([], [], null);
        }
    }

    private static IEnumerable<KeyValuePair<string, string>> Strings(JsonElement top, string section)
    {
        if (!top.TryGetProperty(section, out var items) || items.ValueKind != JsonValueKind.Object) yield break;
        foreach (var item in items.EnumerateObject())
        {
            if (item.Value.ValueKind == JsonValueKind.String) yield return new(item.Name, item.Value.GetString()!);
        }
    }
}
