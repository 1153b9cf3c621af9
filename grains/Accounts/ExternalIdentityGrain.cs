using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.Grains.Accounts;

/// <summary>
/// One provider's subject and the account it is linked to. The link is made once, by an email the provider verified,
/// and then holds by subject (the stable id), whatever the provider later says about the email.
/// </summary>
public sealed class ExternalIdentityGrain(
    [PersistentState("external-identity")] IPersistentState<ExternalIdentityGrain.LinkState> state) : Grain, IExternalIdentityGrain
{
    public async Task<LoginResult> SignIn(ExternalIdentity identity, string clientAddress)
    {
        if (identity.Key != this.GetPrimaryKeyString()) throw new InvalidOperationException("The identity does not belong to this grain.");
        if (state.State.UserId is { } linked)
        {
            return await GrainFactory.GetGrain<IUserGrain>(linked).SignInExternal(identity, link: false, clientAddress);
        }

        if (!identity.EmailVerified || string.IsNullOrWhiteSpace(identity.Email))
        {
            // An unverified address proves nothing about who owns it: linking it would hand its account to whoever typed it.
            throw new ForbiddenException(
                $"The identity provider '{identity.Provider}' did not say this account's email address is verified, so CloudDeck " +
                "can neither link it to an account nor create one. Verify the address with the provider and sign in again.");
        }

        var account = await GrainFactory.GetGrain<IEmailIndexGrain>(EmailAddresses.Normalize(identity.Email))
            .ClaimForExternalIdentity(identity, clientAddress);
        var result = await GrainFactory.GetGrain<IUserGrain>(account.UserId).SignInExternal(identity, link: true, clientAddress);
        state.State.UserId = account.UserId;
        await state.WriteStateAsync();
        return result;
    }

    public sealed class LinkState
    {
        public string? UserId { get; set; }
    }
}
