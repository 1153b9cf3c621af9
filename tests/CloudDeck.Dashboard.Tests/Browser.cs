using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Tests;

/// <summary>
/// Debian's Chromium (<c>apt-get install chromium</c>) driven by Playwright: never a browser Playwright downloads. Missing,
/// a test is skipped on a developer's machine and fails under CI=true (<see cref="Requirement"/>).
/// </summary>
internal sealed class Browser : IAsyncDisposable
{
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"];

    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser chromium)
    {
        _playwright = playwright;
        Chromium = chromium;
    }

    public IBrowser Chromium { get; }

    public static string? ExecutablePath =>
        Environment.GetEnvironmentVariable("CLOUDDECK_CHROMIUM") is { Length: > 0 } configured && File.Exists(configured)
            ? configured
            : Candidates.FirstOrDefault(File.Exists);

    /// <summary>Skips (or, under CI, fails) the calling test when there is no Chromium.</summary>
    public static void Require()
    {
        if (Requirement.Check(ExecutablePath is not null, "chromium", "apt-get install chromium") is { } message)
        {
            if (Requirement.IsCi) Assert.Fail(message);
            Assert.Skip(message);
        }
    }

    public static async Task<Browser> LaunchAsync()
    {
        Require();
        var playwright = await Playwright.CreateAsync();
        var chromium = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            // As root (CI), Chromium's own sandbox cannot start; the test machine is the sandbox.
            Args = Environment.UserName == "root" ? ["--no-sandbox"] : [],
        });
        return new Browser(playwright, chromium);
    }

    /// <summary>
    /// A fresh profile (its own cookies) at desktop size, or phone size. <paramref name="bypassCsp"/> only for a page a
    /// test injects a script into (axe-core): the dashboard's CSP refuses any script it does not serve itself.
    /// </summary>
    public async Task<IPage> NewPageAsync(Uri baseAddress, bool phone = false, bool bypassCsp = false)
    {
        var context = await Chromium.NewContextAsync(new BrowserNewContextOptions
        {
            BypassCSP = bypassCsp,
            BaseURL = baseAddress.ToString(),
            ViewportSize = phone ? new ViewportSize { Width = 390, Height = 844 } : new ViewportSize { Width = 1280, Height = 900 },
            IsMobile = phone,
        });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Chromium.DisposeAsync();
        _playwright.Dispose();
    }
}
