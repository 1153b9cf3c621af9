using System.Globalization;

namespace Actors.Runtime;

/// <summary>
/// One silo incarnation: where it listens and when it started. A restarted silo on the same endpoint has a
/// newer generation, so its old row can be declared dead while the new one joins.
/// </summary>
public sealed record SiloAddress(string Host, int Port, long Generation)
{
    public string Endpoint => $"{Host}:{Port}";

    public override string ToString() => $"{Host}:{Port}@{Generation.ToString(CultureInfo.InvariantCulture)}";

    public static SiloAddress Parse(string value)
    {
        var at = value.LastIndexOf('@');
        var colon = value.LastIndexOf(':', at < 0 ? value.Length - 1 : at);
        if (at < 0 || colon < 0)
        {
            throw new FormatException($"'{value}' is not a silo address (host:port@generation).");
        }

        return new SiloAddress(value[..colon], int.Parse(value[(colon + 1)..at], CultureInfo.InvariantCulture),
            long.Parse(value[(at + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>Generations are start times in milliseconds: unique per restart on one endpoint, ordered.</summary>
    public static long NewGeneration() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}

/// <summary>Silo status as Orleans numbers it in its membership table.</summary>
public enum SiloStatus
{
    None = 0,
    Created = 1,
    Joining = 2,
    Active = 3,
    ShuttingDown = 4,
    Stopping = 5,
    Dead = 6,
}
