using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace CloudDeck.Grains.Projects;

/// <summary>
/// Addresses a git fetch must not reach unless the operator allows them: loopback, private (RFC 1918, fc00::/7),
/// link-local, shared (CGNAT 100.64/10), unspecified, multicast, reserved and documentation ranges, and this machine's
/// own addresses. An IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4) is judged by the IPv4 address.
/// </summary>
public static class NonPublicAddresses
{
    private static readonly IPNetwork[] Ranges = [.. new[]
    {
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    }.Select(IPNetwork.Parse)];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");

    /// <summary>Whether <paramref name="address"/> is in a non-public range (this machine's own addresses are <see cref="IsOwn"/>).</summary>
    public static bool IsNonPublic(IPAddress address)
    {
        var judged = Embedded(address);
        return Ranges.Any(range => range.Contains(judged));
    }

    /// <summary>Whether <paramref name="address"/> is one of this machine's interface addresses (its LAN address, say).</summary>
    public static bool IsOwn(IPAddress address)
    {
        var judged = Embedded(address);
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(i => i.GetIPProperties().UnicastAddresses)
                .Any(u => Embedded(u.Address).Equals(judged));
        }
        catch (NetworkInformationException)
        {
            // Not knowing our own addresses must not open them: treat the address as ours.
            return true;
        }
    }

    /// <summary>The IPv4 address an IPv6 one carries (IPv4-mapped, NAT64's well-known prefix, 6to4), else the address itself.</summary>
    public static IPAddress Embedded(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address;
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        var bytes = address.GetAddressBytes();
        if (Nat64.Contains(address)) return new IPAddress(bytes.AsSpan(12, 4));
        if (SixToFour.Contains(address)) return new IPAddress(bytes.AsSpan(2, 4));
        // Drop a scope id (fe80::1%2): ranges compare the address alone.
        return address.ScopeId == 0 ? address : new IPAddress(bytes);
    }
}
