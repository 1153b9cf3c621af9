using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Tests;

/// <summary>A long build log in the page: every line once, in order, across a dropped connection.</summary>
public sealed class LongLogTests : DashboardTest
{
    private const int Lines = 10_000;

    [Fact]
    public async Task A_10000_line_log_shows_every_line_once_in_order_across_a_dropped_connection()
    {
        await StartAsync();
        var page = await NewPageAsync();
        var org = await SignUpVerifyAndLogInAsync(page, "long@example.com");
        using var login = await Api.Http.PostAsJsonAsync("api/v1/auth/login", new { email = "long@example.com", password = Password }, Cancellation);
        var token = (await ExpectAsync(login, HttpStatusCode.OK))["access_token"]!.GetValue<string>();
        var closed = 0;
        page.WebSocket += (_, socket) => socket.Close += (_, _) => Interlocked.Increment(ref closed);

        // A synthetic build (test hosts only) writing 10,000 lines at 1,000 a second.
        using var request = new HttpRequestMessage(HttpMethod.Post, "_diag/builds") { Content = JsonContent.Create(new { org, lines = Lines, lines_per_second = 1000 }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var started = await Api.Http.SendAsync(request, Cancellation);
        var buildId = (await ExpectAsync(started, HttpStatusCode.Created))["id"]!.GetValue<string>();

        // Keeps the page's WebSockets reachable, so the test can drop them the way a broken network would.
        await page.AddInitScriptAsync(
            "(() => { const Native = window.WebSocket; window.__sockets = []; window.WebSocket = class extends Native { constructor(...args) { super(...args); window.__sockets.push(this); } }; })()");
        await page.GotoAsync($"/builds/{buildId}");
        await Assertions.Expect(page.Locator(".log-state")).ToHaveAttributeAsync("data-state", "live");
        await Assertions.Expect(page.Locator("#log .line").First).ToBeVisibleAsync();
        // Drop the browser's connection mid-build: Blazor reconnects to its circuit, which kept following the log meanwhile.
        await page.EvaluateAsync("() => window.__sockets.forEach(socket => socket.close(4000, 'test drops the connection'))");

        await Assertions.Expect(page.Locator(".log-state")).ToHaveAttributeAsync("data-state", "completed", new() { Timeout = 120_000 });
        await Assertions.Expect(page.Locator("#log-lines")).ToHaveTextAsync(Lines.ToString(System.Globalization.CultureInfo.InvariantCulture), new() { Timeout = 30_000 });
        var numbers = await page.EvaluateAsync<long[]>("() => Array.from(document.querySelectorAll('#log .line')).map(l => Number(l.dataset.line))");
        Assert.Equal(Enumerable.Range(1, Lines).Select(i => (long)i), numbers);
        Assert.True(Volatile.Read(ref closed) > 0, "the page's connection never dropped: the test proved nothing about reconnecting");
    }
}
