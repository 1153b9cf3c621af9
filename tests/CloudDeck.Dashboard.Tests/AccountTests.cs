using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Tests;

/// <summary>The account page under the dashboard's real CSP: a password change, and two-step verification set up from its QR code.</summary>
public sealed class AccountTests : DashboardTest
{
    private const string Email = "grace@example.com";
    private const string NewPassword = "a much longer new passphrase";

    [Fact]
    public async Task Password_change_signs_out_and_mfa_is_set_up_from_a_server_drawn_qr_code_then_asked_at_sign_in()
    {
        await StartAsync();
        var page = await NewPageAsync();
        await SignUpVerifyAndLogInAsync(page, Email);

        // A wrong current password: the API's words; a right one ends every session, this one too.
        await page.GotoAsync("/account");
        await page.GetByLabel("Current password").FillAsync("not my password");
        await page.GetByLabel("New password").FillAsync(NewPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToBeVisibleAsync();
        await page.GetByLabel("Current password").FillAsync(Password);
        await page.GetByLabel("New password").FillAsync(NewPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Your password was changed")).ToBeVisibleAsync();
        await page.GotoAsync("/account");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
        await SignInAsync(page, NewPassword);

        // The QR code is an inline SVG (no script, no image request): square, with a QR code's module count.
        await page.GotoAsync("/account");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set up two-step verification" }).ClickAsync();
        var qr = page.Locator("svg.qr");
        await Assertions.Expect(qr).ToBeVisibleAsync();
        var viewBox = (await qr.GetAttributeAsync("viewBox"))!.Split(' ').Select(int.Parse).ToArray();
        Assert.Equal(viewBox[2], viewBox[3]);
        var modules = viewBox[2] - 8; // the quiet zone: four modules each side
        Assert.True(modules >= 21 && (modules - 17) % 4 == 0, $"{modules} modules is no QR code version");
        Assert.True((await qr.Locator("path").GetAttributeAsync("d"))!.Length > 100);
        var secret = (await page.Locator("#mfa-secret").TextContentAsync())!.Trim();

        // A wrong code: refused in the API's words, and the same authenticator is offered again.
        await page.GetByLabel("Code from the app").FillAsync("000000");
        await page.GetByRole(AriaRole.Button, new() { Name = "Turn on" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToBeVisibleAsync();
        Assert.Equal(secret, (await page.Locator("#mfa-secret").TextContentAsync())!.Trim());

        await page.GetByLabel("Code from the app").FillAsync(TotpCode(secret, DateTimeOffset.UtcNow));
        await page.GetByRole(AriaRole.Button, new() { Name = "Turn on" }).ClickAsync();
        var codes = await page.Locator("#recovery-codes li").AllInnerTextsAsync();
        Assert.True(codes.Count >= 5, $"{codes.Count} recovery codes");
        await page.GotoAsync("/account");
        await Assertions.Expect(page.Locator("#mfa-state")).ToHaveTextAsync("on");
        Assert.DoesNotContain(codes[0], await page.ContentAsync(), StringComparison.Ordinal);

        // Signing in now asks for a code; a recovery code answers it.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.GotoAsync("/login");
        await page.GetByLabel("Email").FillAsync(Email);
        await page.GetByLabel("Password").FillAsync(NewPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Two-step verification" })).ToBeVisibleAsync();
        await page.GetByLabel("Code").FillAsync(codes[0].Trim());
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Projects" })).ToBeVisibleAsync();
    }

    private static async Task SignInAsync(IPage page, string password)
    {
        await page.GotoAsync("/login");
        await page.GetByLabel("Email").FillAsync(Email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Projects" })).ToBeVisibleAsync();
    }

    /// <summary>RFC 6238 (SHA-1, 30 s, 6 digits), written here from the RFC: an authenticator app's side, independent of the server's code.</summary>
    private static string TotpCode(string base32Secret, DateTimeOffset now)
    {
        var key = Base32(base32Secret);
        var counter = BitConverter.GetBytes(now.ToUnixTimeSeconds() / 30);
        if (BitConverter.IsLittleEndian) Array.Reverse(counter);
        var hash = HMACSHA1.HashData(key, counter);
        var offset = hash[^1] & 0x0f;
        var value = ((hash[offset] & 0x7f) << 24) | (hash[offset + 1] << 16) | (hash[offset + 2] << 8) | hash[offset + 3];
        return (value % 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
    }

    private static byte[] Base32(string text)
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var bytes = new List<byte>();
        int buffer = 0, bits = 0;
        foreach (var c in text.TrimEnd('=').ToUpperInvariant())
        {
            buffer = (buffer << 5) | Alphabet.IndexOf(c, StringComparison.Ordinal);
            bits += 5;
            if (bits < 8) continue;
            bytes.Add((byte)(buffer >> (bits - 8)));
            bits -= 8;
        }

        return [.. bytes];
    }
}
