using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Tests;

/// <summary>The first walk a new user takes: sign up to rollback, in Chromium, with deck deploying for real.</summary>
public sealed partial class FirstDeployTests : DashboardTest
{
    private const string Email = "ada@example.com";

    /// <summary>Eight coloured lines a second apart, then the site into dist/: a build whose log is still being written when the page opens.</summary>
    private const string SlowColouredBuild =
        "for i in 1 2 3 4 5 6 7 8; do printf '\\033[32mstep %s of 8\\033[0m\\n' $i; sleep 1; done; mkdir -p dist && cp index.html dist/";

    [Fact]
    public async Task Sign_up_verify_log_in_create_deploy_watch_the_log_live_then_roll_back_from_the_page()
    {
        await StartAsync();
        var page = await NewPageAsync();
        var org = await SignUpVerifyAndLogInAsync(page, Email);
        await Assertions.Expect(page.GetByText("No projects yet.")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = ScreenshotPath("projects-empty-desktop"), FullPage = true });

        await page.GetByRole(AriaRole.Link, new() { Name = "New project" }).ClickAsync();
        await page.GetByLabel("Name", new() { Exact = false }).First.FillAsync("web");
        await page.GetByLabel("Build command").FillAsync(SlowColouredBuild);
        await page.GetByLabel("Output directory").FillAsync("dist");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create project" }).ClickAsync();
        await page.WaitForURLAsync($"**/orgs/{org}/projects/web");
        await Assertions.Expect(page.GetByText("No deployments yet.")).ToBeVisibleAsync();

        (await Deck(["login", "--api", Api.BaseAddress.ToString(), "--email", Email, "--password-stdin"], Work, stdin: Password + "\n")).Expect(0);
        var site = Site("web", new Dictionary<string, string> { ["index.html"] = "<h1>version one</h1>" });
        (await Deck(["link", "--api", Api.BaseAddress.ToString(), "--org", org, "--project", "web"], site)).Expect(0);
        var firstDeploy = Deck(["deploy", "--prod", "--api", Api.BaseAddress.ToString()], site);

        // The deployment appears on the project page while it builds; its page shows the log as it is written.
        var firstId = await NewestDeploymentIdAsync(page, org, count: 1);
        await page.GotoAsync($"/deployments/{firstId}");
        var log = page.Locator("#log");
        await Assertions.Expect(log.GetByText("step 2 of 8")).ToBeVisibleAsync();
        // Six more seconds of build remain: the line came live, not from a finished log.
        Assert.Equal("live", await page.Locator(".log-state").GetAttributeAsync("data-state"));
        await page.ScreenshotAsync(new() { Path = ScreenshotPath("deployment-live-desktop"), FullPage = true });
        await Assertions.Expect(page.Locator(".log-state")).ToHaveAttributeAsync("data-state", "completed", new() { Timeout = 120_000 });
        (await firstDeploy).Expect(0);

        var steps = await log.Locator(".line").AllInnerTextsAsync();
        var stepLines = steps.Select(l => StepLine().Match(l)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(1, 8), stepLines);
        // The build printed ESC[32m: green, rendered as a class, with no escape character left in the page.
        Assert.Equal(8, await log.Locator(".ansi-fg-2").CountAsync());
        Assert.DoesNotContain(steps, l => l.Contains('\u001b', StringComparison.Ordinal));

        var production = new Uri($"http://web-{org}.localhost:{Api.BaseAddress.Port}/");
        await ExpectServedAsync(page, production, "version one");

        await File.WriteAllTextAsync(Path.Combine(site, "index.html"), "<h1>version two</h1>", Cancellation);
        (await Deck(["deploy", "--prod", "--api", Api.BaseAddress.ToString()], site)).Expect(0);
        await ExpectServedAsync(page, production, "version two");

        // Roll back from the page: the first deployment's row, then the confirmation.
        await page.GotoAsync($"/orgs/{org}/projects/web");
        await page.ScreenshotAsync(new() { Path = ScreenshotPath("project-desktop"), FullPage = true });
        await page.Locator($"tr[data-deployment='{firstId}']").GetByRole(AriaRole.Link, new() { Name = "Roll back to this" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alertdialog)).ToContainTextAsync(firstId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Roll back production" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Production was rolled back.")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator($"tr[data-deployment='{firstId}'] .badge.current")).ToBeVisibleAsync();

        await ExpectServedAsync(page, production, "version one");
    }

    /// <summary>Reloads the project page until it lists <paramref name="count"/> deployments; the newest one's id.</summary>
    private static async Task<string> NewestDeploymentIdAsync(IPage page, string org, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            await page.GotoAsync($"/orgs/{org}/projects/web");
            var rows = page.Locator("tr[data-deployment]");
            if (await rows.CountAsync() >= count) return (await rows.First.GetAttributeAsync("data-deployment"))!;
            Assert.True(DateTime.UtcNow < deadline, $"the project page listed no {count} deployments within 60 s");
            await Task.Delay(250, Cancellation);
        }
    }

    /// <summary>The alias moves in milliseconds, but each edge learns of it from a stream: look until it shows (or 30 s pass).</summary>
    private static async Task ExpectServedAsync(IPage page, Uri url, string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var body = "";
        while (DateTime.UtcNow < deadline)
        {
            var response = await page.GotoAsync(url.ToString());
            body = await page.Locator("body").InnerTextAsync();
            if (response?.Ok == true && body.Contains(text, StringComparison.Ordinal)) return;
            await Task.Delay(250, Cancellation);
        }

        Assert.Fail($"{url} did not serve '{text}' within 30 s; last: {body}");
    }

    [GeneratedRegex(@"step (\d) of 8")]
    private static partial Regex StepLine();
}
