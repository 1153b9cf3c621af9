namespace CloudDeck.Api.Tests.Accounts;

/// <summary>
/// The matrix's rows for what platform operators see (/metrics, the Orleans dashboard) and /readyz. No caller of the
/// matrix is an operator: its host names someone else in CloudDeck:Operators:Emails, so the first account is not one.
/// </summary>
public sealed partial class AuthorizationMatrixTests
{
    /// <summary>The Orleans dashboard's routes (its package maps them) and a path for each.</summary>
    private static readonly (string Route, string Path)[] DashboardRoutes =
    [
        ("", "/"), ("/index.html", ""), ("/favicon.ico", ""), ("/index.min.js", ""), ("/index.css", ""), ("/fonts/{**path}", "/fonts/a.woff2"),
        ("/img/{**path}", "/img/a.png"), ("/version", ""), ("/DashboardCounters", ""), ("/ClusterStats", ""), ("/Reminders", ""),
        ("/Reminders/{page:int}", "/Reminders/1"), ("/HistoricalStats/{*path}", "/HistoricalStats/x"), ("/SiloProperties/{*address}", "/SiloProperties/x"),
        ("/SiloMetadata/{*address}", "/SiloMetadata/x"), ("/SiloStats/{*address}", "/SiloStats/x"), ("/SiloCounters/{*address}", "/SiloCounters/x"),
        ("/GrainStats/{*grainName}", "/GrainStats/x"), ("/TopGrainMethods", ""), ("/GrainState", ""), ("/LifecycleStages", ""), ("/GrainTypes", ""), ("/Trace", ""),
    ];

    private static int[] Operator() => [401, 404, 404, 404, 404, 404];

    private Dictionary<string, Row> Matrix()
    {
        var rows = RouteRows();
        AddDomainRows(rows);
        AddNotificationRows(rows);
        foreach (var (route, row) in ReferenceRows()) rows[route] = row;
        rows["ANY /readyz"] = new(Everyone(200), Fixed("/readyz"), Method: "GET");
        rows["ANY /metrics"] = new(Operator(), Fixed("/metrics"), Method: "GET");
        foreach (var (route, path) in DashboardRoutes)
        {
            rows[$"GET /_operator/dashboard{route}"] = new(Operator(), Fixed("/_operator/dashboard" + (path.Length > 0 ? path : route)));
        }

        return rows;
    }
}
