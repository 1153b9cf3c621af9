namespace CloudDeck.GrainInterfaces.Licenses;

/// <summary>The tiers a license can have; their features, quotas and device limits come from <c>CloudDeck:Licenses:Tiers</c>.</summary>
public static class LicenseTiers
{
    public const string Free = "FREE";
    public const string Pro = "PRO";
    public const string Team = "TEAM";
    public const string Enterprise = "ENT";

    public static readonly IReadOnlyList<string> All = [Free, Pro, Team, Enterprise];

    /// <summary>A quota or device limit of -1 means unlimited.</summary>
    public const long Unlimited = -1;
}

/// <summary>Why a validation (or a consume) refused; null when it was accepted.</summary>
public static class LicenseRefusals
{
    public const string Revoked = "revoked";
    public const string Expired = "expired";
    public const string DeviceLimit = "device_limit";
    public const string QuotaExceeded = "quota_exceeded";
}

/// <summary>What an admin asks for when issuing. Null <paramref name="MaxDevices"/>: the tier's; null <paramref name="ExpiresAt"/>: never expires.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.IssueLicenseRequest")]
public sealed record IssueLicenseRequest(string Tier, string Name, int? MaxDevices, DateTimeOffset? ExpiresAt);

[GenerateSerializer, Immutable, Alias("clouddeck.DeviceView")]
public sealed record DeviceView(string MachineId, DateTimeOffset ActivatedAt, DateTimeOffset LastSeenAt, string? LastVersion);

/// <summary>A license as its organization's admins see it. Never carries the key.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.LicenseView")]
public sealed record LicenseView(
    string Id,
    string Organization,
    string Name,
    string Tier,
    string Status,
    DateTimeOffset IssuedAt,
    string IssuedBy,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    int MaxDevices,
    IReadOnlyList<DeviceView> Devices)
{
    public const string Active = "active";
    public const string StatusRevoked = "revoked";
    public const string StatusExpired = "expired";
}

/// <summary>The answer to issuing: the view, and the key, shown this once.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.IssuedLicense")]
public sealed record IssuedLicense(LicenseView License, string LicenseKey)
{
    // Records print every member, and Orleans traces messages with ToString: the key stays out of it.
    public override string ToString() => $"IssuedLicense {{ License = {License}, LicenseKey = *** }}";
}

/// <summary>
/// The validate answer. <paramref name="Reason"/> (see <see cref="LicenseRefusals"/>) and <paramref name="Detail"/> say why
/// when <paramref name="Valid"/> is false. Quotas of -1 are unlimited.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.LicenseValidation")]
public sealed record LicenseValidation(
    bool Valid,
    string? Reason,
    string? Detail,
    string Tier,
    DateTimeOffset? ExpiresAt,
    IReadOnlyList<string> Features,
    IReadOnlyDictionary<string, long> Quotas,
    DateTimeOffset CachedUntil,
    int MaxDevices,
    int DevicesUsed);

/// <summary>
/// The consume answer. Allowed: <paramref name="Used"/> now counts this consume. Refused: <paramref name="Reason"/> says why
/// (quota_exceeded, or the validation refusal). <paramref name="Limit"/> -1 is unlimited.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.LicenseConsumption")]
public sealed record LicenseConsumption(
    bool Allowed,
    string? Reason,
    string? Detail,
    string Quota,
    long Limit,
    long Used,
    long Remaining,
    DateTimeOffset ResetsAt);

/// <summary>
/// Validations as they go to the license's history stream: <paramref name="Count"/> alike validations (same machine, version,
/// outcome and client address) between <paramref name="FirstAt"/> and <paramref name="LastAt"/>, within one flush of the buffer.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.LicenseValidationEvent")]
public sealed record LicenseValidationEvent(
    DateTimeOffset FirstAt, DateTimeOffset LastAt, int Count, string MachineId, string? Version, bool Valid, string? Reason, string ClientAddress);

/// <summary>
/// A signed offline license: a JWS (compact serialization, ES256) whose payload names the license, the machine, the
/// tier's features and quotas and when the file stops being valid. Verify it with the key at
/// <c>GET /api/v1/licenses/public-key</c>.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.OfflineLicense")]
public sealed record OfflineLicense(string LicenseId, string MachineId, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt, string Token)
{
    public override string ToString() => $"OfflineLicense {{ LicenseId = {LicenseId}, MachineId = {MachineId}, ExpiresAt = {ExpiresAt:O}, Token = *** }}";
}
