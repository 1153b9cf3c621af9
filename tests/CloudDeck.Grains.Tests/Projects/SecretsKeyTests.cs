using System.Security.Cryptography;
using CloudDeck.GrainInterfaces;
using CloudDeck.Grains.Deployments;
using CloudDeck.Grains.Projects;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Tests.Projects;

/// <summary>The secrets key and the edge URL settings, as a process reads them at start.</summary>
public sealed class SecretsKeyTests
{
    [Fact]
    public void A_ciphertext_decrypts_only_with_its_key_and_context_and_a_cluster_without_a_configured_key_has_none()
    {
        var directory = Directory.CreateTempSubdirectory("clouddeck-secrets-").FullName;
        try
        {
            var key = SecretsKey.Load(null, directory, cluster: false);
            Assert.Equal(SecretsKey.PathUnder(directory), key.Source);
            var sealedValue = key.Encrypt("hunter2", "acme/web\nproduction\nPASSWORD");
            Assert.DoesNotContain("hunter2", sealedValue);
            Assert.Equal("hunter2", SecretsKey.Load(null, directory, cluster: false).Decrypt(sealedValue, "acme/web\nproduction\nPASSWORD"));
            Assert.ThrowsAny<CryptographicException>(() => key.Decrypt(sealedValue, "acme/web\npreview\nPASSWORD"));
            var other = SecretsKey.Load(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), directory, cluster: false);
            Assert.ThrowsAny<CryptographicException>(() => other.Decrypt(sealedValue, "acme/web\nproduction\nPASSWORD"));

            var cluster = SecretsKey.Load(null, directory, cluster: true);
            Assert.False(cluster.IsAvailable);
            Assert.Throws<ConflictException>(() => cluster.Encrypt("x", "y"));
            Assert.Contains(SecretsKey.Setting, Assert.Throws<InvalidOperationException>(() => SecretsKey.Load("c2hvcnQ=", directory, cluster: true)).Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Edge_urls_leave_out_the_schemes_default_port_and_wrong_settings_name_themselves()
    {
        static EdgeUrlOptions Read(params (string Key, string Value)[] settings) => EdgeUrlOptions.Read(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create<string, string?>($"CloudDeck:Edge:{s.Key}", s.Value))).Build());

        Assert.Equal("http://abc.localhost:8080", Read().UrlOf("abc.localhost"));
        Assert.Equal("https://abc.apps.example.com", Read(("BaseDomain", "Apps.Example.com"), ("Scheme", "https"), ("Port", "443")).UrlOf("abc.apps.example.com"));
        Assert.Equal("apps.example.com", Read(("BaseDomain", "Apps.Example.com")).BaseDomain);
        Assert.Equal("http://abc.localhost", Read(("Port", "80")).UrlOf("abc.localhost"));
        Assert.Contains("CloudDeck:Edge:Port", Assert.Throws<InvalidOperationException>(() => Read(("Port", "70000"))).Message);
        Assert.Contains("CloudDeck:Edge:Scheme", Assert.Throws<InvalidOperationException>(() => Read(("Scheme", "ftp"))).Message);
        Assert.Contains("CloudDeck:Edge:BaseDomain", Assert.Throws<InvalidOperationException>(() => Read(("BaseDomain", "bad_domain"))).Message);
    }
}
