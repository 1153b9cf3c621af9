using CloudDeck.Dashboard.Api;

namespace CloudDeck.Dashboard.Components;

/// <summary>A project's production URL: its production host, on the scheme and port its deployments' URLs use.</summary>
public static class ProductionUrls
{
    public static string For(Project project, Deployment anyDeployment)
    {
        if (!Uri.TryCreate(anyDeployment.Url, UriKind.Absolute, out var sample)) return "http://" + project.ProductionHost;
        return new UriBuilder(sample) { Host = project.ProductionHost, Path = "/" }.Uri.ToString();
    }
}
