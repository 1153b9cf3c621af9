using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.GrainInterfaces.Licenses;

public static class LicenseStreams
{
    /// <summary>Validation history: one stream per license id, items of <see cref="LicenseValidationEvent"/>.</summary>
    public const string History = "license-validations";
}

/// <summary>
/// One license, keyed by its id (the public part of its key; the key's secret is never a grain id, so it stays out of
/// storage keys and logs). Validations are answered from memory; device activations are written; the per-day
/// command quota is counted in memory; each validation goes to the stream <c>license-validations/{id}</c> in batches.
/// Machines call the key-checked methods; only <see cref="IOrganizationLicensesGrain"/> calls the others.
/// </summary>
[Alias("clouddeck.ILicenseGrain")]
public interface ILicenseGrain : IGrainWithStringKey
{
    /// <summary>Only the organization's licenses grain calls this. A second create is a <see cref="ConflictException"/>.</summary>
    Task<LicenseView> Create(string organization, IssueLicenseRequest request, int maxDevices, string secretHash, string issuedBy);

    /// <summary>Only for the organization's licenses grain; unknown ids are a <see cref="NotFoundException"/>.</summary>
    [ReadOnly]
    Task<LicenseView> Get();

    Task<LicenseView> Revoke();

    /// <summary>Removes a machine's activation (an admin's decision, or the machine's own with its key).</summary>
    Task<LicenseView> RemoveDevice(string machineId);

    Task<OfflineLicense> IssueOffline(string machineId);

    /// <summary>
    /// <paramref name="secretHash"/> is the SHA-256 (lower-case hex) of the key's secret, computed by the API, so the secret
    /// itself never crosses the cluster. A wrong secret or an unknown license is a <see cref="NotFoundException"/> (one answer for both).
    /// </summary>
    Task<LicenseValidation> Validate(string secretHash, string machineId, string? version, string clientAddress);

    Task<LicenseConsumption> Consume(string secretHash, string machineId, int count, string clientAddress);

    /// <summary>Frees the machine's device slot.</summary>
    Task Deactivate(string secretHash, string machineId);

    /// <summary>Appends buffered validations to the history stream now (tests; deactivation does it too).</summary>
    Task FlushHistory();
}

/// <summary>
/// The licenses of one organization (keyed by slug), and who may manage them: admins and owners (tokens need the
/// <c>admin</c> scope to change, <c>read</c> to look). Non-members and other tenants' license ids get 404.
/// </summary>
[Alias("clouddeck.IOrganizationLicensesGrain")]
public interface IOrganizationLicensesGrain : IGrainWithStringKey
{
    Task<IssuedLicense> Issue(Caller caller, IssueLicenseRequest request);

    Task<IReadOnlyList<LicenseView>> List(Caller caller);

    Task<LicenseView> Get(Caller caller, string licenseId);

    Task<LicenseView> Revoke(Caller caller, string licenseId);

    Task<LicenseView> RemoveDevice(Caller caller, string licenseId, string machineId);

    Task<OfflineLicense> IssueOffline(Caller caller, string licenseId, string machineId);
}
