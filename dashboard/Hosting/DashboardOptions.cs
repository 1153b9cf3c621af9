using Microsoft.Extensions.Options;

namespace CloudDeck.Dashboard.Hosting;

/// <summary><c>CloudDeck:Dashboard:*</c>.</summary>
public sealed class DashboardOptions
{
    public const string Section = "CloudDeck:Dashboard";

    /// <summary>Serve the dashboard at <c>/</c>. Off: the host serves only the API and the edge.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Where the dashboard's server side calls the API (and its log hub). Unset: this process's own first plain-HTTP
    /// address (a wildcard listen address becomes loopback), since the API is served by the same host.
    /// </summary>
    public string? ApiAddress { get; set; }

    /// <summary>Where Data Protection keeps the keys that encrypt the session cookie. Unset: <c>{CloudDeck:DataDirectory}/dashboard-keys</c>.</summary>
    public string? KeysDirectory { get; set; }
}

internal sealed class DashboardOptionsValidation : IValidateOptions<DashboardOptions>
{
    public ValidateOptionsResult Validate(string? name, DashboardOptions options) =>
        options.ApiAddress is null
        || (Uri.TryCreate(options.ApiAddress, UriKind.Absolute, out var address) && address.Scheme is "http" or "https")
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"{DashboardOptions.Section}:ApiAddress must be an absolute http(s) URL such as http://127.0.0.1:8080 (was '{options.ApiAddress}').");
}
