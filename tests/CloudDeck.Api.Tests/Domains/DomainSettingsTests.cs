using CloudDeck.Api.Edge;
using CloudDeck.Grains.Domains;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Api.Tests.Domains;

/// <summary>A wrong domain or HTTPS setting stops the host at start with a message that names it and shows a good value.</summary>
public sealed class DomainSettingsTests
{
    [Theory]
    [InlineData("CloudDeck:Domains:DnsServers:0", "not-an-address", "CloudDeck:Domains:DnsServers", "127.0.0.1:5353")]
    [InlineData("CloudDeck:Domains:EdgeAddresses:0", "edge.example.com", "CloudDeck:Domains:EdgeAddresses", "IP addresses")]
    [InlineData("CloudDeck:Domains:CheckPeriod", "00:00:10", "CloudDeck:Domains:CheckPeriod", "00:05:00")]
    [InlineData("CloudDeck:Domains:Acme:DirectoryUrl", "ftp://acme", "CloudDeck:Domains:Acme:DirectoryUrl", "acme-staging-v02")]
    [InlineData("CloudDeck:Domains:Acme:TrustedRootPath", "/nonexistent/root.pem", "CloudDeck:Domains:Acme:TrustedRootPath", "/nonexistent/root.pem")]
    [InlineData("CloudDeck:Domains:MaxRetryDelay", "00:01:00", "CloudDeck:Domains:MaxRetryDelay", "FirstRetryDelay")]
    public void A_wrong_domain_setting_is_refused_naming_it(string key, string value, string named, string hint)
    {
        var error = Assert.Throws<InvalidOperationException>(() => DomainOptions.Read(Configuration(key, value)));
        Assert.Contains(named, error.Message);
        Assert.Contains(hint, error.Message);
    }

    [Theory]
    [InlineData("CloudDeck:Edge:Https:Port", "70000", "CloudDeck:Edge:Https:Port")]
    [InlineData("CloudDeck:Edge:Https:ListenAddress", "everywhere", "CloudDeck:Edge:Https:ListenAddress")]
    [InlineData("CloudDeck:Edge:Https:CertificatePath", "/nonexistent/cert.pem", "CloudDeck:Edge:Https:CertificatePath")]
    public void A_wrong_https_setting_is_refused_naming_it(string key, string value, string named)
    {
        var error = Assert.Throws<InvalidOperationException>(() => EdgeHttpsOptions.Read(Configuration(key, value)));
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public void The_defaults_work_without_any_setting()
    {
        var domains = DomainOptions.Read(Configuration());
        Assert.Equal(DomainOptions.LetsEncrypt, domains.Acme.DirectoryUrl);
        Assert.Equal(TimeSpan.FromDays(30), domains.RenewBefore);
        Assert.Empty(domains.DnsEndpoints());
        Assert.False(EdgeHttpsOptions.Read(Configuration()).Enabled);
        Assert.Equal(53, DomainOptions.Read(Configuration("CloudDeck:Domains:DnsServers:0", "192.0.2.53")).DnsEndpoints()[0].Port);
    }

    private static IConfiguration Configuration(params string[] pairs) => new ConfigurationBuilder()
        .AddInMemoryCollection(pairs.Chunk(2).Select(p => KeyValuePair.Create(p[0], (string?)p[1])))
        .Build();
}
