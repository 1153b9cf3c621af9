using Orleans.Configuration;
using CloudDeck.Grains.Hosting;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Tests.Hosting;

public sealed class ClusterConfigurationTests
{
    private static readonly CloudDeckStorageOptions Postgres = new() { StorageProvider = "Postgres", PostgresConnectionString = "Host=unused" };

    private static CloudDeckClusterOptions Read(params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?> { ["CloudDeck:Cluster:Mode"] = "Cluster", ["CloudDeck:Auth:SigningKey"] = "unused" };
        foreach (var (key, value) in TestCertificateAuthority.Shared.ClusterTlsEnvironment("config")) values[key.Replace("__", ":")] = value;
        foreach (var (key, value) in settings) values[key] = value;
        return CloudDeckClusterOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), Postgres);
    }

    [Fact]
    public void Failure_detection_timings_come_from_CloudDeck_Cluster_into_Orleans_membership_options()
    {
        var membership = new ClusterMembershipOptions();
        Read(
            ("CloudDeck:Cluster:ProbeTimeout", "00:00:00.500"),
            ("CloudDeck:Cluster:MissedProbesLimit", "4"),
            ("CloudDeck:Cluster:VotesForDeathDeclaration", "3"),
            ("CloudDeck:Cluster:ProbedSilos", "5"),
            ("CloudDeck:Cluster:SuspicionLifetime", "00:00:30"),
            ("CloudDeck:Cluster:TableRefreshPeriod", "00:00:03"),
            ("CloudDeck:Cluster:IAmAlivePeriod", "00:00:07")).ApplyTo(membership);

        Assert.Equal(TimeSpan.FromMilliseconds(500), membership.ProbeTimeout);
        Assert.Equal(4, membership.NumMissedProbesLimit);
        Assert.Equal(3, membership.NumVotesForDeathDeclaration);
        Assert.Equal(5, membership.NumProbedSilos);
        Assert.Equal(TimeSpan.FromSeconds(30), membership.DeathVoteExpirationTimeout);
        Assert.Equal(TimeSpan.FromSeconds(3), membership.TableRefreshTimeout);
        Assert.Equal(TimeSpan.FromSeconds(7), membership.IAmAliveTablePublishTimeout);
    }

    [Fact]
    public void Unset_timings_detect_a_dead_silo_faster_than_Orleans_defaults()
    {
        var membership = new ClusterMembershipOptions();
        var orleansDefaults = new ClusterMembershipOptions();
        Read().ApplyTo(membership);

        // Time to suspect a silo that stopped answering: missed probes x probe timeout.
        Assert.True(membership.ProbeTimeout * membership.NumMissedProbesLimit < orleansDefaults.ProbeTimeout * orleansDefaults.NumMissedProbesLimit);
        Assert.Equal(TimeSpan.FromSeconds(1), membership.ProbeTimeout);
        Assert.Equal(2, membership.NumMissedProbesLimit);
    }

    [Theory]
    [InlineData("CloudDeck:Cluster:Mode", "Sideways", "CloudDeck:Cluster:Mode must be Embedded or Cluster (was 'Sideways')")]
    [InlineData("CloudDeck:Cluster:ClusterId", " ", "CloudDeck:Cluster:ClusterId must not be empty")]
    [InlineData("CloudDeck:Cluster:AdvertisedAddress", " ", "CloudDeck:Cluster:AdvertisedAddress must not be empty")]
    [InlineData("CloudDeck:Cluster:ListenAddress", "everywhere", "CloudDeck:Cluster:ListenAddress must be an IP address (was 'everywhere')")]
    [InlineData("CloudDeck:Cluster:ProbeTimeout", "00:00:00", "CloudDeck:Cluster:ProbeTimeout must be more than 0")]
    [InlineData("CloudDeck:Cluster:TableRefreshPeriod", "2.00:00:00", "CloudDeck:Cluster:TableRefreshPeriod must be more than 0 and at most 1.00:00:00")]
    [InlineData("CloudDeck:Cluster:MissedProbesLimit", "0", "CloudDeck:Cluster:MissedProbesLimit must be at least 1 (was 0)")]
    [InlineData("CloudDeck:Cluster:VotesForDeathDeclaration", "-1", "CloudDeck:Cluster:VotesForDeathDeclaration must be at least 1 (was -1)")]
    [InlineData("CloudDeck:Cluster:GatewayPort", "11111", "CloudDeck:Cluster:SiloPort and GatewayPort must be two different ports")]
    public void A_wrong_cluster_setting_stops_the_start_with_a_message_naming_it(string key, string value, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read((key, value)));
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("CloudDeck:Cluster:Tls:CertificatePath")]
    [InlineData("CloudDeck:Cluster:Tls:KeyPath")]
    [InlineData("CloudDeck:Cluster:Tls:AuthorityPath")]
    public void Cluster_mode_without_its_certificate_stops_the_start_naming_the_setting(string key)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read((key, "")));
        Assert.Contains($"set {key}", error.Message);
    }

    [Fact]
    public void A_certificate_not_issued_by_the_configured_authority_stops_the_start()
    {
        using var stranger = TestCertificateAuthority.Create("someone-elses-ca");
        var (certificate, key) = stranger.Issue("silo");
        var error = Assert.Throws<InvalidOperationException>(() => Read(
            ("CloudDeck:Cluster:Tls:CertificatePath", certificate), ("CloudDeck:Cluster:Tls:KeyPath", key)));
        Assert.Contains("was not issued by the authority in CloudDeck:Cluster:Tls:AuthorityPath", error.Message);
    }
}
