using System.Net;
using CloudDeck.Cli.Tests;
using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Tests;

/// <summary>What a viewer sees and may do, and what another organization's project looks like.</summary>
public sealed class RoleTests : DashboardTest
{
    [Fact]
    public async Task A_viewer_sees_no_controls_the_api_refuses_them_forced_and_another_orgs_project_is_not_found()
    {
        await StartAsync();
        // The owner of acme, with two deployments of acme/web made by deck; a viewer invited to acme; an outsider with a project of their own.
        var owner = await VerifiedAsync("owner@acme.test");
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, "api/v1/orgs", owner.AccessToken, new { slug = "acme", name = "Acme" }), HttpStatusCode.Created);
        // A team plan: the hobby plan has room for its owner only.
        await ExpectOkAsync(await SendAsync(HttpMethod.Put, "api/v1/orgs/acme/plan", owner.AccessToken, new { plan = "pro" }), HttpStatusCode.OK);
        (await Deck(["login", "--api", Api.BaseAddress.ToString(), "--email", owner.Email, "--password-stdin"], Work, stdin: Password + "\n")).Expect(0);
        var site = Site("web", new Dictionary<string, string> { ["index.html"] = "<h1>one</h1>" });
        (await Deck(["init", "--api", Api.BaseAddress.ToString(), "--org", "acme", "--name", "web"], site)).Expect(0);
        (await Deck(["deploy", "--prod", "--api", Api.BaseAddress.ToString()], site)).Expect(0);
        await File.WriteAllTextAsync(Path.Combine(site, "index.html"), "<h1>two</h1>", Cancellation);
        (await Deck(["deploy", "--prod", "--api", Api.BaseAddress.ToString()], site)).Expect(0);
        await ExpectOkAsync(await SendAsync(HttpMethod.Put, "api/v1/orgs/acme/projects/web/env/production/API_KEY", owner.AccessToken, new { value = "s3cret-value" }), HttpStatusCode.OK);

        var viewer = await VerifiedAsync("viewer@acme.test");
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, "api/v1/orgs/acme/invitations", owner.AccessToken, new { email = viewer.Email, role = "viewer" }), HttpStatusCode.Created);
        var invitation = System.Web.HttpUtility.ParseQueryString((await EmailLinkAsync(viewer.Email, "invitation")).Query)["token"];
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, "api/v1/invitations/accept", viewer.AccessToken, new { token = invitation }), HttpStatusCode.OK);

        var outsider = await VerifiedAsync("outsider@other.test");
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, $"api/v1/orgs/{outsider.Organization}/projects", outsider.AccessToken, new { name = "secret" }), HttpStatusCode.Created);

        // The owner's page has the controls (so their absence below means something).
        var ownerPage = await NewPageAsync();
        await LogInAsync(ownerPage, owner.Email);
        await ownerPage.GotoAsync("/orgs/acme/projects/web");
        await Assertions.Expect(ownerPage.GetByRole(AriaRole.Link, new() { Name = "Roll back to this" })).ToHaveCountAsync(1);
        await Assertions.Expect(ownerPage.GetByRole(AriaRole.Button, new() { Name = "Save variable" })).ToBeVisibleAsync();

        var page = await NewPageAsync();
        await LogInAsync(page, viewer.Email);
        await page.GotoAsync("/orgs/acme/projects/web");
        await Assertions.Expect(page.Locator("tr[data-deployment]")).ToHaveCountAsync(2);
        await Assertions.Expect(page.GetByText("API_KEY")).ToBeVisibleAsync();
        Assert.DoesNotContain("s3cret-value", await page.ContentAsync(), StringComparison.Ordinal);
        foreach (var control in new[] { "Roll back to this", "Promote", "Redeploy production", "Delete", "Cancel" })
        {
            await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = control, Exact = true })).ToHaveCountAsync(0);
        }

        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Save variable" })).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByLabel("Value", new() { Exact = true })).ToHaveCountAsync(0);

        // Forced: the confirmation step does not render for a viewer, and the API refuses the action itself.
        var first = await page.Locator("tr[data-deployment]").Last.GetAttributeAsync("data-deployment");
        await page.GotoAsync($"/orgs/acme/projects/web?confirm=rollback&deployment={first}");
        await Assertions.Expect(page.GetByRole(AriaRole.Alertdialog)).ToHaveCountAsync(0);
        using var forced = await SendAsync(HttpMethod.Post, "api/v1/orgs/acme/projects/web/rollback", viewer.AccessToken, new { deployment_id = first });
        Assert.Equal(HttpStatusCode.Forbidden, forced.StatusCode);
        using var forcedEnv = await SendAsync(HttpMethod.Put, "api/v1/orgs/acme/projects/web/env/production/API_KEY", viewer.AccessToken, new { value = "x" });
        Assert.Equal(HttpStatusCode.Forbidden, forcedEnv.StatusCode);

        // Another organization's project: the not-found page with status 404, as for a project that does not exist.
        var response = await page.GotoAsync($"/orgs/{outsider.Organization}/projects/secret");
        Assert.Equal(404, response!.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not found" })).ToBeVisibleAsync();
        var missing = await page.GotoAsync($"/orgs/{outsider.Organization}/projects/no-such-project");
        Assert.Equal(404, missing!.Status);
        Assert.Equal(await page.Locator("main").InnerTextAsync(), await ReadMainAsync(page, $"/orgs/{outsider.Organization}/projects/secret"));
    }

    private static async Task<string> ReadMainAsync(IPage page, string path)
    {
        await page.GotoAsync(path);
        return await page.Locator("main").InnerTextAsync();
    }
}
