using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Organizations;
using static CloudDeck.Grains.Organizations.OrganizationPermissions;

namespace CloudDeck.Grains.Organizations;

// SSO enforcement: the requirement lives here and is copied into each member's MembershipView, which is what the user
// grain reads when someone signs in with a password, so sign-in asks no organization grain.
public sealed partial class OrganizationGrain
{
    public async Task<SsoRequirementView> RequireSso(Caller caller, string? provider)
    {
        Require(caller, OrganizationPermissions.RequireSso);
        if (provider is not null && !await GrainFactory.GetGrain<IUserGrain>(caller.UserId).HasLinkedProvider(provider))
        {
            throw new ConflictException(
                $"provider: sign in with '{provider}' once before requiring it, so that the requirement cannot lock you out of this organization");
        }

        if (Org.RequiredSsoProvider != provider)
        {
            Org.RequiredSsoProvider = provider;
            await state.WriteStateAsync();
            foreach (var member in Org.Members.Keys.ToList()) await SyncMembershipAsync(member);
            await AuditAsync(caller, provider is null ? "organization.sso_lifted" : "organization.sso_required", provider ?? Slug);
        }

        return new SsoRequirementView(Slug, Org.RequiredSsoProvider);
    }
}
