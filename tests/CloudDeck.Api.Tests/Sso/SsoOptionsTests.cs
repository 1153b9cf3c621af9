using CloudDeck.Api.Sso;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Api.Tests.Sso;

/// <summary>Provider settings are checked at start: a wrong one stops the process with a message naming it.</summary>
public sealed class SsoOptionsTests
{
    [Theory]
    [InlineData("Corp", "Issuer", "https://login.example", "a provider's name must be")]
    [InlineData("corp", "Kind", "saml", "Kind must be 'oidc' or 'github-oauth2'")]
    [InlineData("corp", "Issuer", "http://login.example", "Issuer must be an https URL")]
    [InlineData("corp", "Scopes", "email profile", "Scopes must include 'openid'")]
    [InlineData("corp", "ClientSecret", "", "ClientSecret must be set")]
    public void A_wrong_provider_setting_is_refused_with_its_name(string provider, string key, string value, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            [$"CloudDeck:Auth:Oidc:Providers:{provider}:Issuer"] = "https://login.example",
            [$"CloudDeck:Auth:Oidc:Providers:{provider}:ClientId"] = "clouddeck",
            [$"CloudDeck:Auth:Oidc:Providers:{provider}:ClientSecret"] = "secret",
        };
        settings[$"CloudDeck:Auth:Oidc:Providers:{provider}:{key}"] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

        var refused = Assert.Throws<InvalidOperationException>(() => SsoOptions.Read(configuration));

        Assert.Contains($"CloudDeck:Auth:Oidc:Providers:{provider}", refused.Message, StringComparison.Ordinal);
        Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", refused.Message.Replace("ClientSecret", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Http_is_accepted_only_for_a_loopback_issuer_and_github_gets_its_public_endpoints_by_default()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CloudDeck:Auth:Oidc:Providers:dev:Issuer"] = "http://127.0.0.1:5556/dex",
            ["CloudDeck:Auth:Oidc:Providers:dev:ClientId"] = "clouddeck",
            ["CloudDeck:Auth:Oidc:Providers:dev:ClientSecret"] = "secret",
            ["CloudDeck:Auth:Oidc:Providers:github:Kind"] = "github-oauth2",
            ["CloudDeck:Auth:Oidc:Providers:github:ClientId"] = "Iv1.x",
            ["CloudDeck:Auth:Oidc:Providers:github:ClientSecret"] = "secret",
        }).Build();

        var options = SsoOptions.Read(configuration);

        Assert.Equal(["dev", "github"], options.Providers.Keys.Order());
        Assert.Equal("openid email profile", options.Providers["dev"].EffectiveScopes);
        Assert.Equal("https://api.github.com", options.Providers["github"].ApiBaseUrl);
        Assert.Equal("read:user user:email", options.Providers["github"].EffectiveScopes);
    }
}
