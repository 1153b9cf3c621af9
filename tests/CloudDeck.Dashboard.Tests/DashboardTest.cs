using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests;
using CloudDeck.Cli.Tests;
using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Tests;

/// <summary>A real API process, Debian's Chromium, and deck: what every dashboard test starts from.</summary>
public abstract class DashboardTest : DeckProcessTest
{
    internal Browser? Browser { get; private set; }

    internal ApiHost Api { get; private set; } = default!;

    protected async Task StartAsync(IReadOnlyDictionary<string, string?>? environment = null)
    {
        Browser.Require();
        Api = await StartApiAsync(environment);
        Browser = Track(await Browser.LaunchAsync());
    }

    /// <summary>What the pages printed to the console and what failed to load: written to the test output, for failures.</summary>
    protected List<string> BrowserLog { get; } = [];

    protected async Task<IPage> NewPageAsync(bool phone = false, bool bypassCsp = false)
    {
        var page = await Browser!.NewPageAsync(Api.BaseAddress, phone, bypassCsp);
        page.Console += (_, message) => Note($"console {message.Type}: {message.Text}");
        page.PageError += (_, error) => Note($"page error: {error}");
        page.RequestFailed += (_, request) => Note($"request failed: {request.Method} {request.Url} {request.Failure}");
        page.WebSocket += (_, socket) => Note($"websocket: {socket.Url}");
        return page;
    }

    private void Note(string line)
    {
        lock (BrowserLog) BrowserLog.Add(line);
        TestContext.Current.TestOutputHelper?.WriteLine(line);
    }

    /// <summary>The link of the newest email of <paramref name="kind"/> queued for <paramref name="email"/>, as the user would click it.</summary>
    protected async Task<Uri> EmailLinkAsync(string email, string kind)
    {
        var queued = await Api.Http.GetFromJsonAsync<JsonArray>($"_diag/outbox/{Uri.EscapeDataString(email)}", Cancellation);
        var link = queued!.Last(m => m!["kind"]!.GetValue<string>() == kind)!["link"]!.GetValue<string>();
        return new Uri(link);
    }

    /// <summary>Signs up, verifies and signs in through the pages; ends on the first organization's projects page.</summary>
    protected async Task<string> SignUpVerifyAndLogInAsync(IPage page, string email)
    {
        await page.GotoAsync("/signup");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Check your email.")).ToBeVisibleAsync();

        var link = await EmailLinkAsync(email, "email-verification");
        await page.GotoAsync(link.PathAndQuery);
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify my address" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Your email address is verified.")).ToBeVisibleAsync();

        await LogInAsync(page, email);
        return page.Url.Split("/orgs/")[1].TrimEnd('/');
    }

    protected static async Task LogInAsync(IPage page, string email)
    {
        await page.GotoAsync("/login");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync(url => url.Contains("/orgs/", StringComparison.Ordinal));
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Projects" })).ToBeVisibleAsync();
    }

    /// <summary>A folder of files for deck to deploy.</summary>
    protected string Site(string name, IReadOnlyDictionary<string, string> files)
    {
        var root = Directory.CreateDirectory(Path.Combine(Work, name)).FullName;
        foreach (var (path, content) in files)
        {
            var full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }

        return root;
    }

    /// <summary>Where screenshots go: artifacts/dashboard-screenshots under the repository (not committed).</summary>
    protected static string ScreenshotPath(string name)
    {
        var directory = Directory.CreateDirectory(Path.Combine(RepoPaths.Root, "artifacts", "dashboard-screenshots")).FullName;
        return Path.Combine(directory, name + ".png");
    }

    /// <summary>Signed up and verified through the API (the link from the outbox), with a fresh access token.</summary>
    private protected async Task<DeckUser> VerifiedAsync(string email)
    {
        var user = await SignUpAsync(Api, email);
        var token = System.Web.HttpUtility.ParseQueryString((await EmailLinkAsync(email, "email-verification")).Query)["token"];
        using var verified = await Api.Http.PostAsJsonAsync("api/v1/auth/verify-email", new { token }, Cancellation);
        await ExpectAsync(verified, HttpStatusCode.NoContent);
        // A token issued after verification says so.
        using var login = await Api.Http.PostAsJsonAsync("api/v1/auth/login", new { email, password = Password }, Cancellation);
        return user with { AccessToken = (await ExpectAsync(login, HttpStatusCode.OK))["access_token"]!.GetValue<string>() };
    }

    protected Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string accessToken, object? body = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return Api.Http.SendAsync(request, Cancellation);
    }

    protected static async Task ExpectOkAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        using (response) _ = await ExpectAsync(response, status);
    }
}
