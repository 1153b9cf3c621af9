namespace CloudDeck.Grains.Licenses;

public sealed class LicenseState
{
    public bool Created { get; set; }

    public string Organization { get; set; } = "";

    public string Name { get; set; } = "";

    public string Tier { get; set; } = "";

    /// <summary>SHA-256 of the key's secret; the key itself is never stored.</summary>
    public string SecretHash { get; set; } = "";

    public DateTimeOffset IssuedAt { get; set; }

    public string IssuedBy { get; set; } = "";

    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>-1: unlimited.</summary>
    public int MaxDevices { get; set; }

    public Dictionary<string, DeviceRecord> Devices { get; set; } = new(StringComparer.Ordinal);

    // Counted in memory: written with the next write of the license, or when the activation is deactivated
    // (changed state is written then), never once per consume.
    public DateOnly QuotaDay { get; set; }

    public long QuotaUsed { get; set; }
}

public sealed class DeviceRecord
{
    public DateTimeOffset ActivatedAt { get; set; }

    public DateTimeOffset LastSeenAt { get; set; }

    public string? LastVersion { get; set; }
}

public sealed class OrganizationLicensesState
{
    public List<string> LicenseIds { get; set; } = [];
}
