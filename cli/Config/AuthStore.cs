using System.Text.Json;
using System.Text.Json.Serialization;

namespace CloudDeck.Cli.Config;

/// <summary>What deck keeps for one API: an API token, or a session (access token and the refresh token that renews it).</summary>
public sealed record StoredCredentials
{
    public string? Email { get; init; }

    /// <summary>An API token (<c>deck login --token</c>); never refreshed.</summary>
    public string? Token { get; init; }

    public string? AccessToken { get; init; }

    public DateTimeOffset? AccessTokenExpiresAt { get; init; }

    public string? RefreshToken { get; init; }

    [JsonIgnore]
    public string? Bearer => Token ?? AccessToken;
}

/// <summary>
/// <c>$CLOUDDECK_CONFIG_DIR/auth.json</c> (default <c>~/.config/clouddeck</c>): credentials per API base URL, so a
/// token for one server is never sent to another. Written owner-only (0600, directory 0700) through a temp file and
/// a rename, so a crash mid-write never leaves half a file and the secret is never briefly world-readable.
/// </summary>
public sealed class AuthStore(string directory)
{
    public const string ConfigDirectoryVariable = "CLOUDDECK_CONFIG_DIR";
    public const string FileName = "auth.json";

    public string Path => System.IO.Path.Combine(directory, FileName);

    public static AuthStore Default()
    {
        var configured = Environment.GetEnvironmentVariable(ConfigDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(configured)) return new AuthStore(configured);
        var xdg = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
        var root = string.IsNullOrWhiteSpace(xdg)
            ? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config")
            : xdg;
        return new AuthStore(System.IO.Path.Combine(root, "clouddeck"));
    }

    public StoredCredentials? Get(Uri api) => Load().Servers.GetValueOrDefault(Key(api));

    public void Set(Uri api, StoredCredentials credentials) => Update(file => file.Servers[Key(api)] = credentials);

    /// <returns>false when nothing was stored for that API.</returns>
    public bool Remove(Uri api)
    {
        var removed = false;
        Update(file => removed = file.Servers.Remove(Key(api)));
        return removed;
    }

    private static string Key(Uri api) => api.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/";

    private AuthFile Load()
    {
        if (!File.Exists(Path)) return new AuthFile();
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(Path), AuthFileJson.Default.AuthFile) ?? new AuthFile();
        }
        catch (JsonException e)
        {
            // The message names the file but never echoes its content: it holds secrets.
            throw new InvalidOperationException($"{Path} is not valid JSON (line {e.LineNumber + 1}); delete it and run deck login again.", e);
        }
    }

    private void Update(Action<AuthFile> change)
    {
        var file = Load();
        change(file);
        CreateDirectory(directory);
        var temp = Path + $".{Environment.ProcessId}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options))
        {
            JsonSerializer.Serialize(stream, file, AuthFileJson.Default.AuthFile);
        }

        // FileMode.Create keeps the mode of a file left behind by a crash: set it again before it becomes visible.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, Path, overwrite: true);
    }

    private static void CreateDirectory(string path)
    {
        if (Directory.Exists(path)) return;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

}

internal sealed class AuthFile
{
    public Dictionary<string, StoredCredentials> Servers { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>auth.json's shape, generated at compile time (deck is also compiled ahead of time, without reflection).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuthFile))]
internal sealed partial class AuthFileJson : JsonSerializerContext;
