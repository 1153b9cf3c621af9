namespace CloudDeck.Dashboard.Api;

/// <summary>An organization's licenses (admins): issue, list, revoke, free a device.</summary>
public sealed partial class DashboardApi
{
    private static string LicensesPath(string org) => $"api/v1/orgs/{Escape(org)}/licenses";

    public async Task<IReadOnlyList<License>> LicensesAsync(string org, CancellationToken cancellation = default) =>
        DashboardJson.ReadList<License>(await GetAsync($"{LicensesPath(org)}?limit=100", cancellation)).Items;

    /// <summary>A new license; the answer carries its key, this once.</summary>
    public async Task<IssuedLicense> IssueLicenseAsync(string org, string name, string tier, int? maxDevices, DateTimeOffset? expiresAt, CancellationToken cancellation = default)
    {
        var body = new Dictionary<string, object> { ["name"] = name, ["tier"] = tier };
        if (maxDevices is { } devices) body["max_devices"] = devices;
        if (expiresAt is { } expires) body["expires_at"] = expires;
        return DashboardJson.Read<IssuedLicense>(await PostAsync(LicensesPath(org), body, cancellation));
    }

    public async Task<License> RevokeLicenseAsync(string org, string id, CancellationToken cancellation = default) =>
        DashboardJson.Read<License>(await PostAsync($"{LicensesPath(org)}/{Escape(id)}/revoke", cancellation: cancellation));

    public async Task<License> RemoveLicenseDeviceAsync(string org, string id, string machineId, CancellationToken cancellation = default) =>
        DashboardJson.Read<License>(await SendAsync(HttpMethod.Delete, $"{LicensesPath(org)}/{Escape(id)}/devices/{Escape(machineId)}", cancellation: cancellation));
}

public sealed record LicenseDevice(string MachineId, DateTimeOffset ActivatedAt, DateTimeOffset LastSeenAt, string? LastVersion);

public sealed record License(
    string Id, string Name, string Tier, string Status, DateTimeOffset IssuedAt, DateTimeOffset? ExpiresAt, int MaxDevices,
    IReadOnlyList<LicenseDevice> Devices);

public sealed record IssuedLicense(License License, string LicenseKey);
