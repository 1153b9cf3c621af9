using System.Net;
using System.Text.Json.Nodes;

namespace CloudDeck.Api.Tests.Accounts;

/// <summary>
/// The matrix's answers held against the OpenAPI document: every status a route answered one of the matrix's callers
/// must be one its operation declares, and every /api route must be in the document. So the document's responses are
/// what the routes do, not only what their metadata claims.
/// </summary>
public sealed partial class AuthorizationMatrixTests
{
    private readonly List<(string Route, int Status)> _observed = [];

    /// <summary>What the API itself serves besides its document: the reference page and its assets.</summary>
    private Dictionary<string, Row> ReferenceRows() => new()
    {
        ["GET /docs/{documentName?}"] = new(Everyone(200), Fixed("/docs/")),
        ["GET /docs/scalar.js"] = new(Everyone(200), Fixed("/docs/scalar.js")),
        ["GET /docs/scalar.aspnetcore.js"] = new(Everyone(200), Fixed("/docs/scalar.aspnetcore.js")),
        ["GET /docs/favicon.svg"] = new(Everyone(200), Fixed("/docs/favicon.svg")),
    };

    private void Observe(string route, HttpStatusCode status) => _observed.Add((route, (int)status));

    private async Task<IEnumerable<string>> UndocumentedAnswersAsync()
    {
        var document = (await _api.GetAsync("/openapi/v1.json")).Expect(HttpStatusCode.OK);
        var failures = new List<string>();
        foreach (var statuses in _observed.GroupBy(o => o.Route, o => o.Status))
        {
            var route = statuses.Key;
            var (method, path) = (route.Split(' ')[0].ToLowerInvariant(), route.Split(' ', 2)[1]);
            if (document["paths"]?[path]?[method] is not JsonObject operation)
            {
                if (path.StartsWith("/api/", StringComparison.Ordinal)) failures.Add($"{route} is not in the OpenAPI document");
                continue;
            }

            var declared = operation["responses"]?.AsObject().Select(r => r.Key).ToHashSet() ?? [];
            foreach (var status in statuses.Distinct().Order())
            {
                if (!declared.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                {
                    failures.Add($"{route} answered {status}, which its OpenAPI operation ({operation["operationId"]}) does not declare");
                }
            }
        }

        return failures;
    }
}
