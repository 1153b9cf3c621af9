namespace CloudDeck.Testing;

/// <summary>
/// npm's oidc-provider (a certified OpenID Provider) run by tests/js/oidc-provider.mjs on a loopback port, with the
/// clients that script registers for a CloudDeck at <c>cloudDeckBaseUrl</c>: <c>corp</c> and <c>corp-tampered</c>
/// (whose ID tokens the script alters after signing). Framework-neutral: tests turn <see cref="MissingReason"/> into
/// Skip or Fail.
/// </summary>
public sealed class OidcProviderServer : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private OidcProviderServer(ChildProcess process, string issuer)
    {
        _process = process;
        Issuer = issuer;
    }

    public static string? MissingReason => NodeHarness.MissingReason;

    public string Issuer { get; }

    /// <summary>The API settings (as environment variables or configuration keys) for both clients of the script.</summary>
    public static Dictionary<string, string?> Settings(string issuer, string cloudDeckBaseUrl, string separator = ":") => new()
    {
        [Key(separator, "Auth", "LinkBaseUrl")] = cloudDeckBaseUrl.TrimEnd('/'),
        [Key(separator, "Auth", "Oidc", "Providers", "corp", "Issuer")] = issuer,
        [Key(separator, "Auth", "Oidc", "Providers", "corp", "ClientId")] = "clouddeck",
        [Key(separator, "Auth", "Oidc", "Providers", "corp", "ClientSecret")] = "corp-client-secret",
        [Key(separator, "Auth", "Oidc", "Providers", "corp", "DisplayName")] = "Corp SSO",
        [Key(separator, "Auth", "Oidc", "Providers", "corp-tampered", "Issuer")] = issuer,
        [Key(separator, "Auth", "Oidc", "Providers", "corp-tampered", "ClientId")] = "clouddeck-tampered",
        [Key(separator, "Auth", "Oidc", "Providers", "corp-tampered", "ClientSecret")] = "tampered-client-secret",
    };

    /// <summary>Installs tests/js's packages (once per process) and starts the provider on <paramref name="port"/>.</summary>
    public static async Task<OidcProviderServer> StartAsync(int port, string cloudDeckBaseUrl, CancellationToken cancellationToken)
    {
        await NodeHarness.EnsureInstalledAsync(cancellationToken).ConfigureAwait(false);
        var process = ChildProcess.Start(NodeHarness.Node!, ["oidc-provider.mjs", port.ToString(System.Globalization.CultureInfo.InvariantCulture), cloudDeckBaseUrl],
            workingDirectory: NodeHarness.ScriptsDirectory);
        try
        {
            await process.WaitForOutputAsync(output => output.Contains("READY", StringComparison.Ordinal), TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await process.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new OidcProviderServer(process, $"http://127.0.0.1:{port}");
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private static string Key(string separator, params string[] parts) => string.Join(separator, ["CloudDeck", .. parts]);
}
