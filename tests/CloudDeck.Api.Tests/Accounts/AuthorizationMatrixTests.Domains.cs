using System.Net;

namespace CloudDeck.Api.Tests.Accounts;

/// <summary>The custom-domain routes' rows: members read, developers and up change; an outsider's 404 hides the project.</summary>
public sealed partial class AuthorizationMatrixTests
{
    private const string DomainsPath = "/api/v1/orgs/{slug}/projects/{project}/domains";
    private string? _acmeDomain;

    private void AddDomainRows(Dictionary<string, Row> rows)
    {
        rows[$"GET {DomainsPath}"] = new(Org(200, 200, 200, 200), async _ => ($"{await DomainsAsync()}", null));
        rows[$"POST {DomainsPath}"] = new(Org(403, 201, 201, 201), async _ => ($"{await DomainsAsync()}", new { domain = $"{FreshSlug()}.example.com" }));
        rows[$"GET {DomainsPath}/{{domain}}"] = new(Org(200, 200, 200, 200), async _ => ($"{await DomainsAsync()}/{await AcmeDomainAsync()}", null));
        rows[$"PATCH {DomainsPath}/{{domain}}"] = new(Org(403, 200, 200, 200), async _ => ($"{await DomainsAsync()}/{await AcmeDomainAsync()}", new { hsts = true }));
        rows[$"POST {DomainsPath}/{{domain}}/verify"] = new(Org(403, 200, 200, 200), async _ => ($"{await DomainsAsync()}/{await AcmeDomainAsync()}/verify", null));
        rows[$"DELETE {DomainsPath}/{{domain}}"] = new(Org(403, 204, 204, 204), async _ =>
        {
            var domain = $"{FreshSlug()}.example.com";
            (await _api.PostAsync(await DomainsAsync(), new { domain }, _owner.AccessToken)).Expect(HttpStatusCode.Created);
            return ($"{await DomainsAsync()}/{domain}", null);
        });
    }

    private async Task<string> DomainsAsync() => $"/api/v1/orgs/acme/projects/{await AcmeProjectAsync()}/domains";

    /// <summary>A domain of acme's project, added by its owner once (pending: the matrix's DNS answers nothing).</summary>
    private async Task<string> AcmeDomainAsync()
    {
        if (_acmeDomain is not null) return _acmeDomain;
        (await _api.PostAsync(await DomainsAsync(), new { domain = "matrix.example.com" }, _owner.AccessToken)).Expect(HttpStatusCode.Created);
        return _acmeDomain = "matrix.example.com";
    }
}
