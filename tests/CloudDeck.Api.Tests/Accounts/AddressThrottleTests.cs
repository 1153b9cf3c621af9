using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Accounts;

/// <summary>
/// The per-address login throttle over HTTP: twenty failures from one client address, across emails, get 429 with
/// Retry-After. The client address is the connection's unless it comes from a proxy in CloudDeck:Http:KnownProxies.
/// </summary>
public sealed class AddressThrottleTests : IAsyncDisposable
{
    private const string Proxy = "10.0.0.1";

    private InProcessApi? _api;

    /// <summary>An API whose every connection comes from <see cref="Proxy"/>, as behind a reverse proxy.</summary>
    private HttpClient BehindProxy(string? knownProxies)
    {
        _api = new InProcessApi(settings: knownProxies is null ? null : new Dictionary<string, string?> { ["CloudDeck:Http:KnownProxies"] = knownProxies });
        // TestServer leaves the connection's address unset; a startup filter sets it before any other middleware runs.
        return _api.WithWebHostBuilder(web => web.ConfigureTestServices(services => services.AddSingleton<IStartupFilter>(new FromProxy())))
            .CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
    }

    private static async Task<HttpResponseMessage> FailedLoginAsync(HttpClient http, string email, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/auth/login")
        {
            Content = JsonContent.Create(new { email, password = "not the password" }),
        };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return await http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Twenty_failures_from_one_forwarded_address_get_429_with_Retry_After_and_other_addresses_do_not()
    {
        var http = BehindProxy(knownProxies: Proxy);
        for (var i = 0; i < 20; i++)
        {
            // A new unknown email each time: the account limit (five) never applies, only the address's.
            using var failed = await FailedLoginAsync(http, $"nobody{i}@example.com", "203.0.113.7");
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        }

        using var throttled = await FailedLoginAsync(http, "someone-else@example.com", "203.0.113.7");
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.Equal(TimeSpan.FromMinutes(15), throttled.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", throttled.Content.Headers.ContentType?.MediaType);

        using var otherClient = await FailedLoginAsync(http, "someone-else@example.com", "198.51.100.9");
        Assert.Equal(HttpStatusCode.Unauthorized, otherClient.StatusCode);
    }

    [Fact]
    public async Task Without_known_proxies_X_Forwarded_For_is_ignored_so_a_client_cannot_leave_its_bucket()
    {
        var http = BehindProxy(knownProxies: null);
        for (var i = 0; i < 20; i++)
        {
            using var failed = await FailedLoginAsync(http, $"nobody{i}@example.com", $"192.0.2.{i + 1}");
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        }

        using var throttled = await FailedLoginAsync(http, "someone-else@example.com", "192.0.2.99");
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.Equal(TimeSpan.FromMinutes(15), throttled.Headers.RetryAfter?.Delta);
    }

    public async ValueTask DisposeAsync()
    {
        if (_api is not null) await _api.DisposeAsync();
    }

    private sealed class FromProxy : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = IPAddress.Parse(Proxy);
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
