using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Organizations;

namespace CloudDeck.Grains.Organizations;

/// <summary>
/// What each organization action needs: a minimum role, and for API tokens a scope. The README's permission
/// matrix is this table; keep them in step.
/// </summary>
public static class OrganizationPermissions
{
    public sealed record Permission(string Action, string Scope, string MinimumRole);

    public static readonly Permission ViewOrganization = new("view the organization and its members", ApiTokenScopes.Read, OrganizationRoles.Viewer);
    public static readonly Permission RenameOrganization = new("rename the organization", ApiTokenScopes.Admin, OrganizationRoles.Admin);
    public static readonly Permission ChangePlan = new("change the plan", ApiTokenScopes.Admin, OrganizationRoles.Owner);
    public static readonly Permission ManageMembers = new("invite, change roles of and remove members", ApiTokenScopes.Admin, OrganizationRoles.Admin);
    public static readonly Permission RequireSso = new("require members to sign in with an identity provider", ApiTokenScopes.Admin, OrganizationRoles.Owner);
    public static readonly Permission ReadAuditLog = new("read the audit log", ApiTokenScopes.Read, OrganizationRoles.Admin);
    public static readonly Permission LeaveOrganization = new("leave the organization", ApiTokenScopes.Admin, OrganizationRoles.Viewer);
    public static readonly Permission ViewBuilds = new("view builds and their logs", ApiTokenScopes.Read, OrganizationRoles.Viewer);
    public static readonly Permission Deploy = new("start builds and deploy projects", ApiTokenScopes.Deploy, OrganizationRoles.Developer);
    public static readonly Permission ViewUsage = new("view usage", ApiTokenScopes.Read, OrganizationRoles.Viewer);
    public static readonly Permission ReportUsage = new("report usage events", ApiTokenScopes.Deploy, OrganizationRoles.Developer);
    public static readonly Permission ViewBilling = new("view billing, invoices and their exports", ApiTokenScopes.Read, OrganizationRoles.Admin);
    public static readonly Permission ManageBilling = new("change the paid plan or payment details", ApiTokenScopes.Admin, OrganizationRoles.Owner);
    public static readonly Permission ManageNotifications = new("manage notification rules and webhooks", ApiTokenScopes.Admin, OrganizationRoles.Admin);

    /// <summary>The permissions other grains ask for by name (<see cref="OrganizationActions"/>).</summary>
    public static Permission ForAction(string action) => action switch
    {
        OrganizationActions.ViewBuilds => ViewBuilds,
        OrganizationActions.Deploy => Deploy,
        OrganizationActions.ViewUsage => ViewUsage,
        OrganizationActions.ReportUsage => ReportUsage,
        OrganizationActions.ViewBilling => ViewBilling,
        OrganizationActions.ManageBilling => ManageBilling,
        OrganizationActions.ManageNotifications => ManageNotifications,
        _ => throw new ArgumentException($"Unknown organization action '{action}'.", nameof(action)),
    };
}
