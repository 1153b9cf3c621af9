using CloudDeck.Grains.Limits;

namespace CloudDeck.Grains.Tests;

/// <summary>The bucket a client address is throttled in: an IPv4 address itself, an IPv6 address's /64.</summary>
public sealed class ClientAddressTests
{
    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:3::1", "2001:db8:1:3::/64")]
    [InlineData("fe80::1%2", "fe80::/64")]
    [InlineData("unknown", "unknown")]
    public void An_address_is_throttled_by_its_IPv4_address_or_its_IPv6_64(string address, string key) =>
        Assert.Equal(key, ClientAddresses.ThrottleKey(address));
}
