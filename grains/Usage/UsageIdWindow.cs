using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace CloudDeck.Grains.Usage;

/// <summary>
/// The idempotency ids a meter counted in one period, newest last, at most a bound. Ids are kept as 64-bit keyed hashes
/// (HMAC-SHA-256 under the meter's own random key, truncated), so the window costs 8 bytes per id in every state write
/// whatever the ids' length, and nobody without the key can make two ids collide. Two different ids share a hash with a
/// probability of about n²/2⁶⁵ (10⁻¹¹ for 20,000 ids): then the second would not be counted.
/// </summary>
public sealed class UsageIdWindow
{
    private readonly Queue<ulong> _order;
    private readonly HashSet<ulong> _seen;
    private readonly byte[] _key;

    private UsageIdWindow(byte[] key, Queue<ulong> order)
    {
        _key = key;
        _order = order;
        _seen = [.. order];
    }

    /// <summary>Rebuilds a window from its stored form (<see cref="ToBytes"/>).</summary>
    public static UsageIdWindow Load(byte[] key, byte[] stored)
    {
        var order = new Queue<ulong>(stored.Length / sizeof(ulong));
        for (var offset = 0; offset + sizeof(ulong) <= stored.Length; offset += sizeof(ulong))
        {
            order.Enqueue(BinaryPrimitives.ReadUInt64LittleEndian(stored.AsSpan(offset)));
        }

        return new UsageIdWindow(key, order);
    }

    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(32);

    public int Count => _order.Count;

    /// <summary>True when the id is new (and now remembered, forgetting the oldest beyond <paramref name="bound"/>).</summary>
    public bool Add(string id, int bound)
    {
        var hash = Hash(id);
        if (!_seen.Add(hash)) return false;
        _order.Enqueue(hash);
        while (_order.Count > bound) _seen.Remove(_order.Dequeue());
        return true;
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[_order.Count * sizeof(ulong)];
        var offset = 0;
        foreach (var hash in _order)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offset), hash);
            offset += sizeof(ulong);
        }

        return bytes;
    }

    private ulong Hash(string id)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(id), mac);
        return BinaryPrimitives.ReadUInt64LittleEndian(mac);
    }
}
