using System.Text.Json.Serialization;

namespace CloudDeck.Dashboard.Api;

/// <summary>A project's custom domains, and a server deployment's process and runtime log.</summary>
public sealed partial class DashboardApi
{
    private static string DomainsPath(string org, string project) => $"{ProjectPath(org, project)}/domains";

    public async Task<IReadOnlyList<CustomDomain>> DomainsAsync(string org, string project, CancellationToken cancellation = default) =>
        DashboardJson.ReadList<CustomDomain>(await GetAsync($"{DomainsPath(org, project)}?limit=100", cancellation)).Items;

    public async Task<CustomDomain> AddDomainAsync(string org, string project, string domain, CancellationToken cancellation = default) =>
        DashboardJson.Read<CustomDomain>(await PostAsync(DomainsPath(org, project), new { domain }, cancellation));

    public async Task<CustomDomain> VerifyDomainAsync(string org, string project, string domain, CancellationToken cancellation = default) =>
        DashboardJson.Read<CustomDomain>(await PostAsync($"{DomainsPath(org, project)}/{Escape(domain)}/verify", cancellation: cancellation));

    /// <summary>HSTS on or off, and the redirect to the www or apex twin (none, to_www, to_apex).</summary>
    public async Task<CustomDomain> UpdateDomainAsync(string org, string project, string domain, bool hsts, string redirect, CancellationToken cancellation = default) =>
        DashboardJson.Read<CustomDomain>(await SendAsync(HttpMethod.Patch, $"{DomainsPath(org, project)}/{Escape(domain)}", new { hsts, redirect }, cancellation: cancellation));

    public Task RemoveDomainAsync(string org, string project, string domain, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Delete, $"{DomainsPath(org, project)}/{Escape(domain)}", cancellation: cancellation);

    /// <summary>A deployment's server process (state "stopped" for a static deployment).</summary>
    public Task<ServerStatus> ServerAsync(string deploymentId, CancellationToken cancellation = default) =>
        GetAsync<ServerStatus>($"api/v1/deployments/{Escape(deploymentId)}/server", cancellation);

    /// <summary>The server's stdout and stderr as stored, secrets already masked by the API: the last <paramref name="lines"/> lines.</summary>
    public async Task<IReadOnlyList<string>> RuntimeLogTailAsync(string deploymentId, int lines, CancellationToken cancellation = default)
    {
        var text = await GetTextAsync($"api/v1/deployments/{Escape(deploymentId)}/logs/runtime?tail={lines}", cancellation);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}

public sealed record DomainVerification(string TxtName, string TxtValue, string Target, DateTimeOffset? CheckedAt, string? Problem);

public sealed record DomainCertificateState(string Status, string? Issuer, DateTimeOffset? NotAfter, string? Error, DateTimeOffset? NextAttemptAt);

public sealed record CustomDomain(
    [property: JsonPropertyName("domain")] string Name, string Status, DomainVerification Verification, DomainCertificateState Certificate,
    DateTimeOffset CreatedAt, DateTimeOffset? VerifiedAt, bool Hsts = false, string Redirect = "none");

public sealed record ServerStatus(string DeploymentId, string State, int? Pid, int Restarts, int? LastExitCode, DateTimeOffset? StartedAt, string? LastError = null);
