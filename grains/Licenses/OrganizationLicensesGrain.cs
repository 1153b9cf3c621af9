using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Licenses;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Organizations;
using static CloudDeck.Grains.Organizations.OrganizationPermissions;

namespace CloudDeck.Grains.Licenses;

/// <summary>
/// The licenses an organization issued. Who the caller is in the organization comes from its organization grain
/// (non-members get its 404); managing licenses needs the admin role, and a token the scope below.
/// </summary>
public sealed class OrganizationLicensesGrain(
    [PersistentState("licenses")] IPersistentState<OrganizationLicensesState> state,
    LicenseOptions options,
    AuditTrail audit,
    TimeProvider clock) : Grain, IOrganizationLicensesGrain
{
    public static readonly Permission ManageLicenses = new("issue, revoke and manage licenses", ApiTokenScopes.Admin, OrganizationRoles.Admin);
    public static readonly Permission ViewLicenses = new("view licenses", ApiTokenScopes.Read, OrganizationRoles.Admin);

    public const int MaxNameLength = 100;
    public const int MaxDevicesLimit = 100_000;

    private string Slug => this.GetPrimaryKeyString();

    public async Task<IssuedLicense> Issue(Caller caller, IssueLicenseRequest request)
    {
        await RequireAsync(caller, ManageLicenses);
        var tier = request.Tier.ToUpperInvariant();
        if (!LicenseTiers.All.Contains(tier)) throw new InvalidFieldException("tier", $"must be one of {string.Join(", ", LicenseTiers.All)}");
        var name = DisplayNames.Check(request.Name, "name", MaxNameLength);
        var maxDevices = request.MaxDevices ?? options.Tier(tier).MaxDevices;
        if (maxDevices is 0 or < -1 or > MaxDevicesLimit) throw new InvalidFieldException("max_devices", $"must be from 1 to {MaxDevicesLimit}, or -1 for unlimited");
        if (request.ExpiresAt is { } expires && expires <= clock.GetUtcNow()) throw new InvalidFieldException("expires_at", "must be in the future");

        var id = Secrets.NewId();
        var secret = Secrets.NewSecret();
        var view = await License(id).Create(Slug, request with { Tier = tier, Name = name }, maxDevices, Secrets.Hash(secret), caller.Email);
        state.State.LicenseIds.Add(id);
        await state.WriteStateAsync();
        await AuditAsync(caller, "license.issued", $"{id} ({tier}, {name})");
        return new IssuedLicense(view, new LicenseKey(id, secret).ToString());
    }

    public async Task<IReadOnlyList<LicenseView>> List(Caller caller)
    {
        await RequireAsync(caller, ViewLicenses);
        var views = await Task.WhenAll(state.State.LicenseIds.Select(id => License(id).Get()));
        return [.. views.OrderByDescending(v => v.IssuedAt)];
    }

    public async Task<LicenseView> Get(Caller caller, string licenseId)
    {
        await RequireAsync(caller, ViewLicenses);
        return await Owned(licenseId).Get();
    }

    public async Task<LicenseView> Revoke(Caller caller, string licenseId)
    {
        await RequireAsync(caller, ManageLicenses);
        var view = await Owned(licenseId).Revoke();
        await AuditAsync(caller, "license.revoked", licenseId);
        return view;
    }

    public async Task<LicenseView> RemoveDevice(Caller caller, string licenseId, string machineId)
    {
        await RequireAsync(caller, ManageLicenses);
        var view = await Owned(licenseId).RemoveDevice(machineId);
        await AuditAsync(caller, "license.device_removed", $"{licenseId}: {machineId}");
        return view;
    }

    public async Task<OfflineLicense> IssueOffline(Caller caller, string licenseId, string machineId)
    {
        await RequireAsync(caller, ManageLicenses);
        var offline = await Owned(licenseId).IssueOffline(machineId);
        await AuditAsync(caller, "license.offline_issued", $"{licenseId}: {machineId}");
        return offline;
    }

    /// <summary>Non-members get the organization grain's 404; members below admin, or tokens without the scope, 403.</summary>
    private async Task RequireAsync(Caller caller, Permission permission)
    {
        var organization = await GrainFactory.GetGrain<IOrganizationGrain>(Slug).Get(caller);
        if (!caller.HasScope(permission.Scope))
        {
            throw new ForbiddenException($"To {permission.Action}, an API token needs the '{permission.Scope}' scope.");
        }

        if (OrganizationRoles.Rank(organization.YourRole) < OrganizationRoles.Rank(permission.MinimumRole))
        {
            throw new ForbiddenException($"To {permission.Action} you need the {permission.MinimumRole} role or higher; you are {organization.YourRole}.");
        }
    }

    /// <summary>Another organization's license (or none) is 404 alike.</summary>
    private ILicenseGrain Owned(string licenseId) =>
        state.State.LicenseIds.Contains(licenseId) ? License(licenseId) : throw new NotFoundException("License not found.");

    private ILicenseGrain License(string id) => GrainFactory.GetGrain<ILicenseGrain>(id);

    private Task AuditAsync(Caller caller, string action, string target) =>
        audit.AppendAsync(Slug, caller.UserId, action, target, caller.ClientAddress);
}
