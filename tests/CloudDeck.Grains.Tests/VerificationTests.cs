using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Organizations;

namespace CloudDeck.Grains.Tests;

/// <summary>
/// Until an account proves its mailbox it may be someone else's address registered first, so it cannot leave
/// anything behind (API tokens) or join anything (invitations); and a new password ends whatever the old one
/// let anyone create.
/// </summary>
public sealed class VerificationTests
{
    [Fact]
    public async Task Unverified_accounts_may_not_create_api_tokens_or_accept_invitations_until_they_verify()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (newcomer, _) = await silo.SignUpAsync("new@corp.com");
        var (owner, _) = await silo.SignUpAsync("boss@corp.com");
        var user = silo.User(newcomer);

        var mint = await Assert.ThrowsAsync<ForbiddenException>(() => user.CreateApiToken(newcomer, new CreateApiToken("ci", [ApiTokenScopes.Admin], null)));
        Assert.StartsWith("Verify your email first", mint.Message, StringComparison.Ordinal);
        Assert.Empty(await user.ListApiTokens(newcomer));

        var org = silo.Grains.GetGrain<IOrganizationGrain>("corp");
        await org.Create(owner, "Corp", personal: false);
        await org.Invite(owner, newcomer.Email, OrganizationRoles.Developer);
        var invitation = await silo.TokenFromOutboxAsync(newcomer.Email, OutboxKinds.Invitation, SecretToken.Invitation);
        var accept = await Assert.ThrowsAsync<ForbiddenException>(() => org.AcceptInvitation(newcomer, invitation.Id, invitation.Secret));
        Assert.StartsWith("Verify your email first", accept.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<NotFoundException>(() => org.Get(newcomer));

        // Verified, the same account may do both; the refused invitation was kept for it.
        var verified = await silo.VerifyAsync(newcomer);
        Assert.Equal(OrganizationRoles.Developer, (await org.AcceptInvitation(verified, invitation.Id, invitation.Secret)).Role);
        var created = await user.CreateApiToken(verified, new CreateApiToken("ci", [ApiTokenScopes.Read], null));
        Assert.True(SecretToken.TryParse(created.Token, SecretToken.ApiToken, out var token));
        Assert.True((await user.AuthenticateApiToken(token.Id, token.Secret))!.EmailVerified);
    }

    [Fact]
    public async Task A_password_change_or_reset_revokes_every_api_token_and_session()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (caller, _) = await silo.SignUpAsync("gil@example.com", verified: true);
        var user = silo.User(caller);

        var beforeChange = await MintAsync(silo, caller);
        await silo.LoginAsync("gil@example.com");
        await user.ChangePassword(caller, AccountsSilo.Password, "a changed passphrase");
        Assert.Null(await user.AuthenticateApiToken(beforeChange.Id, beforeChange.Secret));
        Assert.Empty(await user.ListApiTokens(caller));
        Assert.Empty(await user.ListSessions(caller));

        var beforeReset = await MintAsync(silo, caller);
        var session = (await silo.LoginAsync("gil@example.com", "a changed passphrase")).Tokens!;
        await ResetPasswordAsync(silo, caller, "a reset passphrase");
        Assert.Null(await user.AuthenticateApiToken(beforeReset.Id, beforeReset.Secret));
        Assert.Empty(await user.ListApiTokens(caller));
        Assert.True(SecretToken.TryParse(session.RefreshToken, SecretToken.RefreshToken, out var refresh));
        await Assert.ThrowsAsync<UnauthenticatedException>(() => user.Refresh(refresh.Id, refresh.Secret, "10.0.0.1"));
    }

    [Fact]
    public async Task A_reset_that_first_proves_the_mailbox_also_turns_off_MFA_someone_else_set_up()
    {
        await using var silo = await AccountsSilo.StartAsync();
        // Someone registers an address that is not theirs and turns MFA on, which would keep its owner out.
        var (squatter, _) = await silo.SignUpAsync("victim@corp.com");
        var (enrollment, _) = await silo.EnableMfaAsync(squatter);
        var pending = await silo.LoginAsync("victim@corp.com");
        Assert.Equal(LoginStatus.MfaRequired, pending.Status);

        // The owner of the mailbox resets the password.
        await ResetPasswordAsync(silo, squatter, "the owner's own passphrase");
        var account = await silo.User(squatter).Get(squatter);
        Assert.True(account.EmailVerified);
        Assert.False(account.MfaEnabled);
        Assert.Equal(LoginStatus.InvalidCredentials, (await CompleteMfaAsync(silo, pending.MfaChallenge!, silo.CodeFor(enrollment))).Status);
        Assert.Equal(LoginStatus.Succeeded, (await silo.LoginAsync("victim@corp.com", "the owner's own passphrase")).Status);

        // A verified account's MFA is its owner's: a reset proves only the mailbox, so the factor stays, but
        // a second step started with the old password ends.
        var (ada, _) = await silo.SignUpAsync("ada@example.com", verified: true);
        var (adaEnrollment, _) = await silo.EnableMfaAsync(ada);
        var started = await silo.LoginAsync("ada@example.com");
        await ResetPasswordAsync(silo, ada, "ada's new passphrase");
        Assert.True((await silo.User(ada).Get(ada)).MfaEnabled);
        Assert.Equal(LoginStatus.InvalidCredentials, (await CompleteMfaAsync(silo, started.MfaChallenge!, silo.CodeFor(adaEnrollment))).Status);
        Assert.Equal(LoginStatus.MfaRequired, (await silo.LoginAsync("ada@example.com", "ada's new passphrase")).Status);
    }

    private static async Task<SecretToken> MintAsync(AccountsSilo silo, Caller caller)
    {
        var created = await silo.User(caller).CreateApiToken(caller, new CreateApiToken("ci", [ApiTokenScopes.Admin], null));
        Assert.True(SecretToken.TryParse(created.Token, SecretToken.ApiToken, out var token));
        Assert.NotNull(await silo.User(caller).AuthenticateApiToken(token.Id, token.Secret));
        return token;
    }

    private static async Task ResetPasswordAsync(AccountsSilo silo, Caller caller, string newPassword)
    {
        await silo.Grains.GetGrain<IEmailIndexGrain>(caller.Email).RequestPasswordReset("10.0.0.9");
        var reset = await silo.TokenFromOutboxAsync(caller.Email, OutboxKinds.PasswordReset, SecretToken.PasswordReset);
        await silo.User(caller).CompletePasswordReset(reset.Id, reset.Secret, newPassword);
    }

    private static Task<LoginResult> CompleteMfaAsync(AccountsSilo silo, string challenge, string code)
    {
        Assert.True(SecretToken.TryParse(challenge, SecretToken.MfaChallenge, out var token));
        return silo.Grains.GetGrain<IUserGrain>(token.Owner).CompleteMfaLogin(token.Id, token.Secret, code, "10.0.0.1");
    }
}
