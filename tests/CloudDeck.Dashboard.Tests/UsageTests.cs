using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Tests;

/// <summary>The usage page's numbers and chart come from the usage the API ingested.</summary>
public sealed class UsageTests : DashboardTest
{
    [Fact]
    public async Task The_usage_chart_has_one_bar_per_day_with_usage_and_the_totals_ingested()
    {
        await StartAsync();
        var page = await NewPageAsync();
        var org = await SignUpVerifyAndLogInAsync(page, "meter@example.com");
        using var login = await Api.Http.PostAsJsonAsync("api/v1/auth/login", new { email = "meter@example.com", password = Password }, Cancellation);
        var token = (await ExpectAsync(login, HttpStatusCode.OK))["access_token"]!.GetValue<string>();

        // Up to three days of this month (fewer on its first days), a different quantity each, each event sent twice:
        // the meter counts an event id once.
        var today = DateTimeOffset.UtcNow;
        var days = Enumerable.Range(0, Math.Min(3, today.Day)).Select(back => today.AddDays(-back).Date).ToList();
        var events = days.SelectMany((day, i) => Enumerable.Range(0, i + 1).Select(n => new
        {
            id = $"evt-{i}-{n}",
            kind = "api_calls",
            quantity = 10 * (i + 1),
            time = new DateTimeOffset(day.AddHours(1), TimeSpan.Zero).ToString("O", CultureInfo.InvariantCulture),
        })).ToList();
        var expectedTotal = events.Sum(e => (long)e.quantity);
        foreach (var _ in new[] { 1, 2 })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/usage/events") { Content = JsonContent.Create(new { org, events }) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var ingested = await Api.Http.SendAsync(request, Cancellation);
            await ExpectAsync(ingested, HttpStatusCode.Accepted);
        }

        // The meter reads the usage stream after the append: reload until the total is in.
        var total = page.Locator("tr[data-kind='api_calls'] .total");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            await page.GotoAsync($"/orgs/{org}/usage?kind=api_calls");
            if (await total.CountAsync() == 1 && await total.InnerTextAsync() == expectedTotal.ToString(CultureInfo.InvariantCulture)) break;
            Assert.True(DateTime.UtcNow < deadline, $"the usage page did not show {expectedTotal} api_calls within 30 s: {await page.Locator("main").InnerTextAsync()}");
            await Task.Delay(250, Cancellation);
        }

        var bars = page.Locator("svg.usage-chart rect.bar");
        await Assertions.Expect(bars).ToHaveCountAsync(days.Count);
        var values = new List<long>();
        for (var i = 0; i < days.Count; i++) values.Add(long.Parse((await bars.Nth(i).GetAttributeAsync("data-value"))!, CultureInfo.InvariantCulture));
        Assert.Equal(expectedTotal, values.Sum());
        var expectedPerDay = days.Select((day, i) => (Date: day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Value: 10L * (i + 1) * (i + 1)))
            .OrderBy(d => d.Date, StringComparer.Ordinal).ToList();
        var shown = new List<(string, long)>();
        for (var i = 0; i < days.Count; i++) shown.Add(((await bars.Nth(i).GetAttributeAsync("data-date"))!, values[i]));
        Assert.Equal(expectedPerDay, shown);
        await page.ScreenshotAsync(new() { Path = ScreenshotPath("usage-desktop"), FullPage = true });
    }
}
