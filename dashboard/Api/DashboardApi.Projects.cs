namespace CloudDeck.Dashboard.Api;

/// <summary>Projects, their deployments, aliases and environment variables.</summary>
public sealed partial class DashboardApi
{
    private static string ProjectPath(string org, string project) => $"api/v1/orgs/{Escape(org)}/projects/{Escape(project)}";

    public async Task<IReadOnlyList<Project>> ProjectsAsync(string org, CancellationToken cancellation = default) =>
        DashboardJson.ReadList<Project>(await GetAsync($"api/v1/orgs/{Escape(org)}/projects", cancellation)).Items;

    public Task<Project> ProjectAsync(string org, string project, CancellationToken cancellation = default) =>
        GetAsync<Project>(ProjectPath(org, project), cancellation);

    public async Task<Project> CreateProjectAsync(string org, NewProjectSettings settings, CancellationToken cancellation = default)
    {
        var body = new Dictionary<string, string> { ["name"] = settings.Name };
        if (!string.IsNullOrWhiteSpace(settings.GitUrl)) body["git_url"] = settings.GitUrl.Trim();
        if (!string.IsNullOrWhiteSpace(settings.ProductionBranch)) body["production_branch"] = settings.ProductionBranch.Trim();
        if (!string.IsNullOrWhiteSpace(settings.RootDirectory)) body["root_directory"] = settings.RootDirectory.Trim();
        if (!string.IsNullOrWhiteSpace(settings.Framework)) body["framework"] = settings.Framework.Trim();
        if (!string.IsNullOrWhiteSpace(settings.InstallCommand)) body["install_command"] = settings.InstallCommand.Trim();
        if (!string.IsNullOrWhiteSpace(settings.BuildCommand)) body["build_command"] = settings.BuildCommand.Trim();
        if (!string.IsNullOrWhiteSpace(settings.OutputDirectory)) body["output_directory"] = settings.OutputDirectory.Trim();
        return DashboardJson.Read<Project>(await PostAsync($"api/v1/orgs/{Escape(org)}/projects", body, cancellation));
    }

    public async Task<DeploymentList> DeploymentsAsync(string org, string project, int limit, CancellationToken cancellation = default)
    {
        var (items, next) = DashboardJson.ReadList<Deployment>(
            await GetAsync($"{ProjectPath(org, project)}/deployments?limit={limit}", cancellation));
        return new DeploymentList(items, next);
    }

    public Task<Build> BuildAsync(string id, CancellationToken cancellation = default) =>
        GetAsync<Build>($"api/v1/builds/{Escape(id)}", cancellation);

    public Task<Deployment> DeploymentAsync(string id, CancellationToken cancellation = default) =>
        GetAsync<Deployment>($"api/v1/deployments/{Escape(id)}", cancellation);

    /// <summary>Production back to <paramref name="deploymentId"/> (or, without one, to the deployment before the current).</summary>
    public async Task<Deployment> RollbackAsync(string org, string project, string? deploymentId, CancellationToken cancellation = default) =>
        DashboardJson.Read<Deployment>(await PostAsync($"{ProjectPath(org, project)}/rollback",
            deploymentId is null ? new { } : new { deployment_id = deploymentId }, cancellation));

    public async Task<Deployment> PromoteAsync(string id, CancellationToken cancellation = default) =>
        DashboardJson.Read<Deployment>(await PostAsync($"api/v1/deployments/{Escape(id)}/promote", cancellation: cancellation));

    public async Task<Deployment> CancelAsync(string id, CancellationToken cancellation = default) =>
        DashboardJson.Read<Deployment>(await PostAsync($"api/v1/deployments/{Escape(id)}/cancel", cancellation: cancellation));

    /// <summary>A new deployment of a git project from <paramref name="gitRef"/> (its production branch when null).</summary>
    public async Task<Deployment> RedeployAsync(string org, string project, string target, string? gitRef, CancellationToken cancellation = default) =>
        DashboardJson.Read<Deployment>(await PostAsync($"{ProjectPath(org, project)}/deployments",
            gitRef is null ? new { target } : new { target, git_ref = gitRef }, cancellation));

    public async Task<IReadOnlyList<EnvVar>> EnvAsync(string org, string project, CancellationToken cancellation = default) =>
        DashboardJson.ReadList<EnvVar>(await GetAsync($"{ProjectPath(org, project)}/env", cancellation)).Items;

    public Task SetEnvAsync(string org, string project, string environment, string name, string value, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, $"{ProjectPath(org, project)}/env/{Escape(environment)}/{Escape(name)}", new { value }, cancellation: cancellation);

    public Task DeleteEnvAsync(string org, string project, string environment, string name, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Delete, $"{ProjectPath(org, project)}/env/{Escape(environment)}/{Escape(name)}", cancellation: cancellation);
}

public sealed record NewProjectSettings(
    string Name, string? GitUrl, string? ProductionBranch, string? RootDirectory, string? Framework,
    string? InstallCommand = null, string? BuildCommand = null, string? OutputDirectory = null);
