using CloudDeck.Grains.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using System.Security.Cryptography.X509Certificates;

namespace CloudDeck.Grains.Tests.Hosting;

/// <summary>The embedded silo listens on a loopback port: no other local process may use it to reach the grains.</summary>
public sealed class EmbeddedSiloPortTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_embedded_silo_port_admits_no_certificate_but_its_own()
    {
        var port = ChildProcess.FreeTcpPort();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CloudDeck:DataDirectory"] = Directory.CreateTempSubdirectory("clouddeck-embedded-").FullName,
            ["CloudDeck:Embedded:SiloPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        builder.Logging.ClearProviders();
        builder.AddCloudDeckSilo();
        using var host = builder.Build();
        await host.StartAsync(Ct);
        try
        {
            using var local = TestCertificateAuthority.Create("a-local-users-ca");
            var (certificate, key) = local.Issue("local-process");
            using var clientCertificate = X509Certificate2.CreateFromPemFile(certificate, key);

            var anonymous = await TlsPortProbe.ConnectAsync(port, clientCertificate: null, TimeSpan.FromSeconds(5), Ct);
            var withCertificate = await TlsPortProbe.ConnectAsync(port, clientCertificate, TimeSpan.FromSeconds(5), Ct);

            // The port answers TLS with the silo's own certificate, and refuses whatever the caller presents.
            Assert.Equal("CN=clouddeck-embedded-silo", anonymous.ServerCertificateSubject ?? withCertificate.ServerCertificateSubject);
            Assert.False(anonymous.Admitted, anonymous.Detail);
            Assert.False(withCertificate.Admitted, withCertificate.Detail);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }
}
