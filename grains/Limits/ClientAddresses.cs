using System.Net;
using System.Net.Sockets;

namespace CloudDeck.Grains.Limits;

public static class ClientAddresses
{
    /// <summary>
    /// The bucket a client address is throttled in: an IPv4 address as it is, an IPv6 address by its /64 prefix
    /// ("2001:db8:1:2::/64"). One IPv6 subscriber is usually handed a whole /64 (2^64 addresses), so keying by the full
    /// address would give them endless fresh buckets. An IPv4-mapped IPv6 address counts as its IPv4 address; text
    /// that is not an address ("unknown") is its own bucket.
    /// </summary>
    public static string ThrottleKey(string clientAddress)
    {
        if (!IPAddress.TryParse(clientAddress, out var address)) return clientAddress;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return $"{new IPAddress(bytes)}/64";
    }
}
