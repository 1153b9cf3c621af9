using System.Globalization;
using System.Text;
using QRCoder;

namespace CloudDeck.Dashboard.Components;

/// <summary>
/// A QR code as an SVG drawn on the server: one path of unit squares on a white square, quiet zone included, scaled by
/// the viewBox. No script and no image request, so the otpauth secret never leaves the page it was shown on.
/// </summary>
public static class QrCodeSvg
{
    public static string Render(string text, string title)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(text, QRCodeGenerator.ECCLevel.M);
        var modules = data.ModuleMatrix;
        var size = modules.Count;
        var path = new StringBuilder();
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                // A run of dark modules in a row is one rectangle: the path stays short.
                if (!modules[y][x]) continue;
                var run = 1;
                while (x + run < size && modules[y][x + run]) run++;
                path.Append(CultureInfo.InvariantCulture, $"M{x} {y}h{run}v1h-{run}z");
                x += run - 1;
            }
        }

        var escapedTitle = System.Net.WebUtility.HtmlEncode(title);
        return $"""<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 {size} {size}" role="img" aria-label="{escapedTitle}" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{path}"/></svg>""";
    }
}
