using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Bench;

/// <summary>The median of one page's first renders, in milliseconds.</summary>
internal sealed record RenderSummary(int Samples, double ServerMedian, double PaintMedian, double LoadMedian)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"server {ServerMedian:F1} ms, first contentful paint {PaintMedian:F1} ms, load event {LoadMedian:F1} ms (median of {Samples})");
}

/// <summary>Debian's Chromium driven by Playwright, signed in to the dashboard in one profile.</summary>
internal sealed class Chromium : IAsyncDisposable
{
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"];

    // Notes when each log line's element enters the DOM (wall-clock ms, comparable with the server's stamps on this machine).
    private const string LineObserver = """
        window.__seen = new Map();
        new MutationObserver(records => {
          const at = performance.timeOrigin + performance.now();
          for (const record of records) for (const node of record.addedNodes) {
            if (node.nodeType !== 1) continue;
            const lines = node.matches('[data-line]') ? [node] : node.querySelectorAll('[data-line]');
            for (const line of lines) { const n = +line.dataset.line; if (!window.__seen.has(n)) window.__seen.set(n, at); }
          }
        }).observe(document, { childList: true, subtree: true });
        """;

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly IPage _page;
    private bool _observing;

    private Chromium(IPlaywright playwright, IBrowser browser, IPage page)
    {
        _playwright = playwright;
        _browser = browser;
        _page = page;
    }

    public static string? ExecutablePath =>
        Environment.GetEnvironmentVariable("CLOUDDECK_CHROMIUM") is { Length: > 0 } configured && File.Exists(configured)
            ? configured
            : Candidates.FirstOrDefault(File.Exists);

    public static async Task<Chromium> LaunchAsync(Uri baseAddress)
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = Environment.UserName == "root" ? ["--no-sandbox"] : [],
        });
        // The observer is a script the dashboard does not serve: its CSP is bypassed for this profile only.
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            BypassCSP = true,
        });
        context.SetDefaultTimeout(60_000);
        var page = await context.NewPageAsync();
        return new Chromium(playwright, browser, page);
    }

    public async Task LogInAsync(string email, string password)
    {
        await _page.GotoAsync("/login");
        await _page.GetByLabel("Email").FillAsync(email);
        await _page.GetByLabel("Password").FillAsync(password);
        await _page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await _page.WaitForURLAsync(url => url.Contains("/orgs/", StringComparison.Ordinal));
    }

    /// <summary><paramref name="samples"/> fresh navigations to <paramref name="path"/> after three not counted (JIT, first activations).</summary>
    public async Task<RenderSummary> FirstRenderAsync(string path, int samples)
    {
        var server = new List<double>();
        var paint = new List<double>();
        var load = new List<double>();
        for (var i = 0; i < samples + 3; i++)
        {
            var response = await _page.GotoAsync(path, new() { WaitUntil = WaitUntilState.Load });
            if (response is not { Ok: true }) throw new InvalidOperationException($"{path} answered {response?.Status}");
            // The paint entry is recorded just after the frame: wait for it rather than read too early.
            var timing = await _page.EvaluateAsync<JsonElement>("""
                async () => {
                  for (let i = 0; i < 50 && !performance.getEntriesByName('first-contentful-paint').length; i++) await new Promise(r => setTimeout(r, 20));
                  const n = performance.getEntriesByType('navigation')[0];
                  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
                  return { server: n.responseEnd - n.requestStart, paint: fcp ? fcp.startTime : -1, load: n.loadEventEnd - n.startTime };
                }
                """);
            if (i < 3) continue;
            server.Add(timing.GetProperty("server").GetDouble());
            paint.Add(timing.GetProperty("paint").GetDouble());
            load.Add(timing.GetProperty("load").GetDouble());
        }

        if (paint.Any(p => p < 0)) throw new InvalidOperationException($"{path}: Chromium reported no first-contentful-paint");
        return new RenderSummary(samples, Median(server), Median(paint), Median(load));
    }

    /// <summary>Opens a build's live log and waits for it to complete; when each line entered the DOM.</summary>
    public async Task<Dictionary<long, double>> FollowLogAsync(string path, int lines, TimeSpan timeout)
    {
        if (!_observing) await _page.AddInitScriptAsync(LineObserver);
        _observing = true;
        await _page.GotoAsync(path);
        await _page.Locator(".log-state[data-state='completed']").WaitForAsync(new() { Timeout = (float)timeout.TotalMilliseconds });
        var seen = await _page.EvaluateAsync<double[][]>("() => [...window.__seen.entries()]");
        if (seen.Length != lines) throw new InvalidOperationException($"{path}: {seen.Length} of {lines} lines entered the DOM");
        return seen.ToDictionary(pair => (long)pair[0], pair => pair[1]);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
