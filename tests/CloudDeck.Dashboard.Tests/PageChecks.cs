using System.Text.Json;
using CloudDeck.Testing;
using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Tests;

/// <summary>
/// What every main page is checked for: a screenshot with content (written under artifacts/, not committed) and no
/// critical violation from axe-core (the npm package in tests/js, injected into the page).
/// </summary>
internal static class PageChecks
{
    /// <summary>A violation as axe reports it, with the first few elements it was found on.</summary>
    public sealed record Violation(string Id, string? Impact, string Help, int Nodes, string[] Targets);

    private static string AxeScript => Path.Combine(NodeHarness.ScriptsDirectory, "node_modules", "axe-core", "axe.min.js");

    /// <summary>axe-core's violations on the page as it is now (all impacts; the caller picks).</summary>
    public static async Task<IReadOnlyList<Violation>> AxeViolationsAsync(IPage page)
    {
        await NodeHarness.EnsureInstalledAsync(TestContext.Current.CancellationToken);
        // The dashboard's CSP allows no inline script: axe is injected by the browser context that bypasses it (BypassCSP).
        await page.AddScriptTagAsync(new() { Path = AxeScript });
        var json = await page.EvaluateAsync<JsonElement>("""
            async () => {
              const result = await axe.run(document, { resultTypes: ['violations'] });
              return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
                targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }));
            }
            """);
        return json.Deserialize<List<Violation>>(new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    /// <summary>
    /// A full-page screenshot saved as <paramref name="name"/>.png, checked to be a PNG of the page's width with more
    /// than a blank page in it: decoded by Chromium itself (an about:blank page without the dashboard's CSP), it must
    /// have several colours and a share of pixels unlike the background.
    /// </summary>
    public static async Task<ScreenshotFacts> ScreenshotAsync(IPage page, IBrowserContext blankContext, string path)
    {
        var png = await page.ScreenshotAsync(new() { Path = path, FullPage = true });
        Assert.True(png.Length > 2_000, $"{path}: only {png.Length} bytes");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        var decoder = await blankContext.NewPageAsync();
        try
        {
            var facts = await decoder.EvaluateAsync<JsonElement>("""
                async (base64) => {
                  const image = new Image();
                  image.src = 'data:image/png;base64,' + base64;
                  await image.decode();
                  const canvas = document.createElement('canvas');
                  canvas.width = image.width; canvas.height = image.height;
                  const context = canvas.getContext('2d');
                  context.drawImage(image, 0, 0);
                  const data = context.getImageData(0, 0, image.width, image.height).data;
                  const background = [data[data.length - 4], data[data.length - 3], data[data.length - 2]];
                  const colours = new Set();
                  let different = 0;
                  for (let i = 0; i < data.length; i += 4) {
                    if (colours.size < 1000) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
                    if (Math.abs(data[i] - background[0]) + Math.abs(data[i + 1] - background[1]) + Math.abs(data[i + 2] - background[2]) > 30) different++;
                  }
                  return { width: image.width, height: image.height, colours: colours.size, inked: different / (data.length / 4) };
                }
                """, Convert.ToBase64String(png));
            return facts.Deserialize<ScreenshotFacts>(new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        }
        finally
        {
            await decoder.CloseAsync();
        }
    }

    public sealed record ScreenshotFacts(int Width, int Height, int Colours, double Inked);
}
