using System.Net;
using Microsoft.Extensions.Configuration;
using CloudDeck.Api.Tests.Accounts;

namespace CloudDeck.Api.Tests.Sso;

/// <summary>Each begun sign-in holds an attempt in memory, so one address may begin only so many per minute.</summary>
public sealed class SsoStartLimitTests
{
    [Fact]
    public async Task Sign_ins_begun_past_the_per_address_limit_are_a_429_with_Retry_After_and_hold_no_attempt()
    {
        await using var api = new InProcessApi(settings: new Dictionary<string, string?>
        {
            // A provider nobody can reach: the limiter answers before the handler would ask it for its endpoints.
            ["CloudDeck:Auth:Oidc:Providers:corp:Issuer"] = "http://127.0.0.1:1",
            ["CloudDeck:Auth:Oidc:Providers:corp:ClientId"] = "clouddeck",
            ["CloudDeck:Auth:Oidc:Providers:corp:ClientSecret"] = "limit-secret",
            ["CloudDeck:Auth:Oidc:StartsPerMinutePerAddress"] = "3",
        });

        var answers = new List<Answer>();
        for (var i = 0; i < 5; i++) answers.Add(await api.GetAsync("/api/v1/auth/sso/corp/start?redirect_uri=nowhere"));

        // The first three reach the handler (a 400 naming redirect_uri); the rest are refused before it.
        Assert.All(answers.Take(3), a => Assert.Equal("redirect_uri", a.Expect(HttpStatusCode.BadRequest).Text("field")));
        Assert.All(answers.Skip(3), a => Assert.Equal(HttpStatusCode.TooManyRequests, a.Status));
        Assert.Equal(("application/problem+json", TimeSpan.FromSeconds(60)), (answers[^1].MediaType, answers[^1].RetryAfter));
        // The list of providers is not limited.
        (await api.GetAsync("/api/v1/auth/sso/providers")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public void A_limit_that_is_not_a_whole_number_stops_the_start_naming_the_setting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CloudDeck:Auth:Oidc:StartsPerMinutePerAddress"] = "-1",
        }).Build();

        var refused = Assert.Throws<InvalidOperationException>(() => CloudDeck.Api.Sso.SsoOptions.Read(configuration));
        Assert.Contains("CloudDeck:Auth:Oidc:StartsPerMinutePerAddress", refused.Message, StringComparison.Ordinal);
    }
}
