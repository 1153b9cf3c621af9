namespace CloudDeck.Dashboard.Hosting;

/// <summary>Marks every endpoint the dashboard maps (pages, its static files, Blazor's circuit hub), apart from the API's routes.</summary>
public sealed class DashboardEndpointMetadata
{
    public static readonly DashboardEndpointMetadata Instance = new();

    private DashboardEndpointMetadata()
    {
    }
}
