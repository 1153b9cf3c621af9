using System.Net;
using CloudDeck.Testing;
using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Tests;

/// <summary>
/// Every main page at desktop (1280) and phone (390) width: a screenshot with content, no horizontal overflow at phone
/// width, and no critical axe-core violation.
/// </summary>
public sealed class MainPagesTests : DashboardTest
{
    private const string Email = "pages@example.com";

    [Fact]
    public async Task Main_pages_at_desktop_and_phone_width_have_screenshots_with_content_and_no_critical_axe_violations()
    {
        if (NodeHarness.MissingReason is { } missing)
        {
            if (Requirement.IsCi) Assert.Fail(missing);
            Assert.Skip(missing);
        }

        await StartAsync();
        var setup = await NewPageAsync();
        var org = await SignUpVerifyAndLogInAsync(setup, Email);
        var user = await VerifiedLoginAsync(Email);

        // Something on every page: a deployed project with a variable and a domain, a license, a token.
        (await Deck(["login", "--api", Api.BaseAddress.ToString(), "--email", Email, "--password-stdin"], Work, stdin: Password + "\n")).Expect(0);
        var site = Site("web", new Dictionary<string, string> { ["index.html"] = "<h1>pages</h1>" });
        (await Deck(["init", "--api", Api.BaseAddress.ToString(), "--org", org, "--name", "web"], site)).Expect(0);
        (await Deck(["deploy", "--prod", "--api", Api.BaseAddress.ToString()], site)).Expect(0);
        await ExpectOkAsync(await SendAsync(HttpMethod.Put, $"api/v1/orgs/{org}/projects/web/env/production/API_KEY", user, new { value = "s3cret" }), HttpStatusCode.OK);
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, $"api/v1/orgs/{org}/projects/web/domains", user, new { domain = "shop.example.com" }), HttpStatusCode.Created);
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, $"api/v1/orgs/{org}/licenses", user, new { tier = "PRO", name = "Desktop app" }), HttpStatusCode.Created);
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, "api/v1/me/tokens", user, new { name = "ci", scopes = new[] { "deploy" } }), HttpStatusCode.Created);
        using var listed = await SendAsync(HttpMethod.Get, $"api/v1/orgs/{org}/projects/web/deployments", user);
        var deployment = (await ExpectAsync(listed, HttpStatusCode.OK))["items"]![0]!["id"]!.GetValue<string>();

        string[] anonymous = ["/login", "/signup", "/reset-password"];
        string[] signedIn =
        [
            $"/orgs/{org}", $"/orgs/{org}/projects/web", $"/deployments/{deployment}", $"/orgs/{org}/projects/web/domains",
            $"/orgs/{org}/team", $"/orgs/{org}/usage", $"/orgs/{org}/audit", $"/orgs/{org}/licenses", $"/orgs/{org}/notifications", "/account", "/account/tokens",
        ];
        var blank = await Browser!.Chromium.NewContextAsync();
        var failures = new List<string>();
        foreach (var phone in new[] { false, true })
        {
            var width = phone ? 390 : 1280;
            var page = await NewPageAsync(phone, bypassCsp: true);
            foreach (var path in anonymous) await CheckAsync(page, blank, path, width, failures);
            await LogInAsync(page, Email);
            foreach (var path in signedIn) await CheckAsync(page, blank, path, width, failures);
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static async Task CheckAsync(IPage page, IBrowserContext blank, string path, int width, List<string> failures)
    {
        var response = await page.GotoAsync(path);
        Assert.True(response!.Ok, $"{path}: {response.Status}");
        await Assertions.Expect(page.Locator("main h1").First).ToBeVisibleAsync();
        if (path.StartsWith("/deployments/", StringComparison.Ordinal))
        {
            await Assertions.Expect(page.Locator(".log-state")).ToHaveAttributeAsync("data-state", "completed");
        }

        var name = (path.Trim('/').Replace('/', '-') is { Length: > 0 } n ? n : "home") + (width < 500 ? "-phone" : "-desktop");
        var facts = await PageChecks.ScreenshotAsync(page, blank, ScreenshotPath(name));
        TestContext.Current.TestOutputHelper?.WriteLine($"{path} @{width}: {facts}");
        // The page is as wide as the screen (nothing forces a sideways scroll at phone width), and has more than a background in it.
        if (facts.Width != width) failures.Add($"{path} @{width}: the page is {facts.Width} px wide");
        if (facts.Colours < 4 || facts.Inked < 0.005) failures.Add($"{path} @{width}: looks blank ({facts})");

        foreach (var violation in await PageChecks.AxeViolationsAsync(page))
        {
            var line = $"{path} @{width}: axe {violation.Impact} {violation.Id} ({violation.Help}) on {violation.Nodes}: {string.Join(" | ", violation.Targets)}";
            TestContext.Current.TestOutputHelper?.WriteLine(line);
            if (violation.Impact == "critical") failures.Add(line);
        }
    }

    /// <summary>An access token for API calls the setup makes (the pages have their own session).</summary>
    private async Task<string> VerifiedLoginAsync(string email)
    {
        using var login = await Api.Http.PostAsync("api/v1/auth/login",
            System.Net.Http.Json.JsonContent.Create(new { email, password = Password }), Cancellation);
        return (await ExpectAsync(login, HttpStatusCode.OK))["access_token"]!.GetValue<string>();
    }
}
