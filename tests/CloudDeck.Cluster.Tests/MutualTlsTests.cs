using Actors.Extensions.AdoNet;
using Actors.Extensions.Security;
using CloudDeck.GrainInterfaces.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using System.Security.Cryptography.X509Certificates;
using CloudDeck.Diagnostics;

namespace CloudDeck.Cluster.Tests;

/// <summary>
/// The silo and gateway ports listen on the host's addresses: in cluster mode only a process holding a certificate from
/// the cluster's authority gets through (what a build in a container, or anyone else on the network, does not hold).
/// </summary>
public sealed class MutualTlsTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan VerdictWindow = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Silo_and_gateway_ports_admit_only_a_certificate_from_the_cluster_authority()
    {
        await using var cluster = await ClusterHarness.StartAsync(postgres, silos: 1, Ct);
        var silo = cluster.Silos[0];
        using var stranger = TestCertificateAuthority.Create("someone-elses-ca");
        using var member = LoadCertificate(TestCertificateAuthority.Shared.Issue("probe-member"));
        using var outsider = LoadCertificate(stranger.Issue("probe-outsider"));

        foreach (var (name, port) in new[] { ("silo", silo.SiloPort), ("gateway", silo.GatewayPort) })
        {
            var admitted = await TlsPortProbe.ConnectAsync(port, member, VerdictWindow, Ct);
            Assert.True(admitted.Admitted, $"The {name} port refused a certificate from the cluster authority: {admitted.Detail}");
            // The silo proved itself with a certificate of its own: the port speaks TLS, so the refusals below are its verdict.
            Assert.Equal("CN=silo", admitted.ServerCertificateSubject);

            var anonymous = await TlsPortProbe.ConnectAsync(port, clientCertificate: null, VerdictWindow, Ct);
            Assert.False(anonymous.Admitted, $"The {name} port admitted a client without a certificate: {anonymous.Detail}");

            var foreign = await TlsPortProbe.ConnectAsync(port, outsider, VerdictWindow, Ct);
            Assert.False(foreign.Admitted, $"The {name} port admitted a certificate from another authority: {foreign.Detail}");
        }

        // The cluster's own client still calls through the gateway.
        var probe = cluster.Grains.GetGrain<IProbeGrain>("mtls");
        await probe.Write("over mutual TLS");
        Assert.Equal("over mutual TLS", (await probe.Read()).Value);
    }

    [Fact]
    public async Task A_cluster_client_with_a_certificate_from_another_authority_cannot_call_a_grain()
    {
        await using var cluster = await ClusterHarness.StartAsync(postgres, silos: 1, Ct);
        using var stranger = TestCertificateAuthority.Create("someone-elses-ca");
        var (certificate, key) = stranger.Issue("intruder");

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.Configure<Orleans.Configuration.ClusterOptions>(options =>
            {
                options.ClusterId = cluster.ClusterId;
                options.ServiceId = CloudDeck.Grains.Hosting.CloudDeckSilo.ServiceId;
            });
            client.UsePostgresClustering(cluster.Database);
            client.UseMutualTls(MutualTlsCredentials.FromPemFiles(certificate, key, stranger.AuthorityPath));
            client.Services.AddCloudDeckDiagnostics();
        });
        using var intruder = builder.Build();

        // Orleans' client connects to a gateway while it starts and keeps retrying: it must not get through in 15 s.
        var error = await Record.ExceptionAsync(async () =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(15));
            await intruder.StartAsync(timeout.Token);
            await intruder.Services.GetRequiredService<IGrainFactory>().GetGrain<IProbeGrain>("mtls-intruder").Write("should not land");
        });
        Assert.NotNull(error);

        var value = await cluster.Grains.GetGrain<IProbeGrain>("mtls-intruder").Read();
        Assert.NotEqual("should not land", value.Value);
    }

    private static X509Certificate2 LoadCertificate((string CertificatePath, string KeyPath) files) =>
        X509Certificate2.CreateFromPemFile(files.CertificatePath, files.KeyPath);
}
