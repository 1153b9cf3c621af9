using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Accounts;

namespace CloudDeck.Grains.Tests;

/// <summary>Login, refresh-token families, two-step MFA login, recovery codes and login throttling, at the grains.</summary>
public sealed class SessionTests
{
    [Fact]
    public async Task A_reused_refresh_token_revokes_its_whole_family_and_only_that_family()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (caller, _) = await silo.SignUpAsync("ada@example.com");
        var user = silo.User(caller);
        var first = (await silo.LoginAsync("ada@example.com")).Tokens!;
        var otherLogin = (await silo.LoginAsync("ada@example.com")).Tokens!;

        var rotated = await RefreshAsync(silo, first.RefreshToken);
        Assert.NotEqual(first.RefreshToken, rotated.RefreshToken);
        var rotatedAgain = await RefreshAsync(silo, rotated.RefreshToken);

        // The first token was rotated away: presenting it again is theft or a race; the family dies.
        var reuse = await Assert.ThrowsAsync<UnauthenticatedException>(() => RefreshAsync(silo, first.RefreshToken));
        Assert.Contains("already used", reuse.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<UnauthenticatedException>(() => RefreshAsync(silo, rotatedAgain.RefreshToken));

        // Another login's family is untouched.
        var other = await RefreshAsync(silo, otherLogin.RefreshToken);
        Assert.NotNull(other.AccessToken);
        Assert.Single(await user.ListSessions(caller));
    }

    [Fact]
    public async Task Two_refreshes_with_one_token_at_once_give_one_success_and_revoke_the_family()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (caller, _) = await silo.SignUpAsync("ivy@example.com");
        for (var round = 0; round < 3; round++)
        {
            var tokens = (await silo.LoginAsync("ivy@example.com")).Tokens!;
            var attempts = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
            {
                try
                {
                    return await RefreshAsync(silo, tokens.RefreshToken);
                }
                catch (UnauthenticatedException)
                {
                    return null;
                }
            }, TestContext.Current.CancellationToken)));

            // The loser presented a token the winner had just rotated away: reuse, so the family dies,
            // and the winner's new token with it.
            var winner = Assert.Single(attempts.OfType<TokenPair>());
            await Assert.ThrowsAsync<UnauthenticatedException>(() => RefreshAsync(silo, winner.RefreshToken));
            Assert.Empty(await silo.User(caller).ListSessions(caller));
        }
    }

    [Fact]
    public async Task A_login_expires_seven_days_after_it_started_however_often_it_is_refreshed()
    {
        await using var silo = await AccountsSilo.StartAsync();
        await silo.SignUpAsync("hal@example.com");
        var login = (await silo.LoginAsync("hal@example.com")).Tokens!;
        var end = silo.Clock.GetUtcNow() + TimeSpan.FromDays(7);
        Assert.Equal(end, login.RefreshTokenExpiresAt);

        var current = login;
        for (var day = 1; day < 7; day++)
        {
            silo.Clock.Advance(TimeSpan.FromDays(1));
            current = await RefreshAsync(silo, current.RefreshToken);
            Assert.Equal(end, current.RefreshTokenExpiresAt);
        }

        silo.Clock.Advance(TimeSpan.FromDays(1));
        await Assert.ThrowsAsync<UnauthenticatedException>(() => RefreshAsync(silo, current.RefreshToken));
    }

    [Fact]
    public async Task Refresh_tokens_expire_and_logout_revokes()
    {
        await using var silo = await AccountsSilo.StartAsync();
        await silo.SignUpAsync("bob@example.com");
        var tokens = (await silo.LoginAsync("bob@example.com")).Tokens!;
        silo.Clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<UnauthenticatedException>(() => RefreshAsync(silo, tokens.RefreshToken));

        var second = (await silo.LoginAsync("bob@example.com")).Tokens!;
        Assert.True(SecretToken.TryParse(second.RefreshToken, SecretToken.RefreshToken, out var token));
        await silo.Grains.GetGrain<IUserGrain>(token.Owner).Logout(token.Id, token.Secret);
        await Assert.ThrowsAsync<UnauthenticatedException>(() => RefreshAsync(silo, second.RefreshToken));
    }

    [Fact]
    public async Task With_MFA_login_takes_two_steps_and_a_code_works_once()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (caller, _) = await silo.SignUpAsync("cy@example.com");
        var (enrollment, _) = await silo.EnableMfaAsync(caller);

        var first = await silo.LoginAsync("cy@example.com");
        Assert.Equal(LoginStatus.MfaRequired, first.Status);
        Assert.Null(first.Tokens);
        var code = silo.CodeFor(enrollment);
        Assert.Equal(LoginStatus.InvalidCredentials, (await CompleteAsync(silo, first.MfaChallenge!, "000000")).Status);
        Assert.Equal(LoginStatus.Succeeded, (await CompleteAsync(silo, first.MfaChallenge!, code)).Status);

        // The challenge is spent, and the same code cannot open a second login (replay).
        Assert.Equal(LoginStatus.InvalidCredentials, (await CompleteAsync(silo, first.MfaChallenge!, code)).Status);
        var second = await silo.LoginAsync("cy@example.com");
        Assert.Equal(LoginStatus.InvalidCredentials, (await CompleteAsync(silo, second.MfaChallenge!, code)).Status);
        // A code one step late is still accepted (clock drift).
        silo.Clock.Advance(Totp.Step * 2);
        Assert.Equal(LoginStatus.Succeeded, (await CompleteAsync(silo, second.MfaChallenge!, silo.CodeFor(enrollment, -Totp.Step))).Status);
    }

    [Fact]
    public async Task Recovery_codes_work_once_each()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (caller, _) = await silo.SignUpAsync("dee@example.com");
        var (_, recoveryCodes) = await silo.EnableMfaAsync(caller);
        Assert.Equal(10, recoveryCodes.Count);
        Assert.Equal(10, recoveryCodes.Distinct().Count());

        var login = await silo.LoginAsync("dee@example.com");
        Assert.Equal(LoginStatus.Succeeded, (await CompleteAsync(silo, login.MfaChallenge!, recoveryCodes[0])).Status);

        var again = await silo.LoginAsync("dee@example.com");
        Assert.Equal(LoginStatus.InvalidCredentials, (await CompleteAsync(silo, again.MfaChallenge!, recoveryCodes[0])).Status);
        Assert.Equal(LoginStatus.Succeeded, (await CompleteAsync(silo, again.MfaChallenge!, recoveryCodes[1].ToUpperInvariant())).Status);

        // Disabling takes a recovery code too, and that one is spent as well.
        await silo.User(caller).DisableMfa(caller, recoveryCodes[2]);
        Assert.Equal(LoginStatus.Succeeded, (await silo.LoginAsync("dee@example.com")).Status);
    }

    [Fact]
    public async Task Five_failures_from_one_address_make_that_address_wait_while_another_address_still_signs_in()
    {
        await using var silo = await AccountsSilo.StartAsync();
        await silo.SignUpAsync("eve@example.com");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(LoginStatus.InvalidCredentials, (await silo.LoginAsync("eve@example.com", "wrong password!", "10.1.0.1")).Status);
        }

        var throttled = await silo.LoginAsync("eve@example.com", AccountsSilo.Password, "10.1.0.1");
        Assert.Equal((LoginStatus.Throttled, 60), (throttled.Status, throttled.RetryAfterSeconds));
        Assert.Equal(LoginStatus.Succeeded, (await silo.LoginAsync("eve@example.com", AccountsSilo.Password, "10.9.9.9")).Status);

        // Spread over addresses, failures hold back none of them: no address reaches five for this account.
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(LoginStatus.InvalidCredentials, (await silo.LoginAsync("eve@example.com", "wrong password!", $"10.2.0.{i}")).Status);
        }

        Assert.Equal(LoginStatus.Succeeded, (await silo.LoginAsync("eve@example.com", AccountsSilo.Password, "10.2.0.0")).Status);
        silo.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(LoginStatus.Succeeded, (await silo.LoginAsync("eve@example.com", AccountsSilo.Password, "10.1.0.1")).Status);
    }

    [Fact]
    public async Task Wrong_MFA_codes_count_against_the_account_even_between_right_passwords()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (caller, _) = await silo.SignUpAsync("cy@example.com");
        var (enrollment, _) = await silo.EnableMfaAsync(caller);
        var wrong = WrongCode(silo, enrollment);

        // Every password and code from a new address, so that only the account's own count can stop them.
        var checkedCodes = 0;
        LoginResult? throttled = null;
        for (var round = 0; round < 10 && throttled is null; round++)
        {
            var login = await silo.LoginAsync("cy@example.com", AccountsSilo.Password, $"10.2.{round}.1");
            if (login.Status == LoginStatus.Throttled)
            {
                throttled = login;
                break;
            }

            Assert.Equal(LoginStatus.MfaRequired, login.Status);
            for (var i = 0; i < 2 && throttled is null; i++)
            {
                var step = await CompleteAsync(silo, login.MfaChallenge!, wrong, $"10.3.{round}.{i}");
                if (step.Status == LoginStatus.Throttled) throttled = step;
                else Assert.Equal(LoginStatus.InvalidCredentials, step.Status);
                if (step.Status == LoginStatus.InvalidCredentials) checkedCodes++;
            }
        }

        Assert.Equal(LoginStatus.Throttled, throttled?.Status);
        Assert.Equal(5, checkedCodes);

        // Once the window passes: four failures, then both factors right, which forgives them, so four more
        // failures still leave the account open.
        silo.Clock.Advance(TimeSpan.FromMinutes(15));
        for (var i = 0; i < 4; i++) Assert.Equal(LoginStatus.InvalidCredentials, (await silo.LoginAsync("cy@example.com", "wrong password!", $"10.4.{i}.1")).Status);
        var next = await silo.LoginAsync("cy@example.com", AccountsSilo.Password, "10.4.9.1");
        Assert.Equal(LoginStatus.Succeeded, (await CompleteAsync(silo, next.MfaChallenge!, silo.CodeFor(enrollment), "10.4.9.1")).Status);
        for (var i = 0; i < 4; i++) Assert.Equal(LoginStatus.InvalidCredentials, (await silo.LoginAsync("cy@example.com", "wrong password!", $"10.5.{i}.1")).Status);
        Assert.Equal(LoginStatus.MfaRequired, (await silo.LoginAsync("cy@example.com", AccountsSilo.Password, "10.5.9.1")).Status);
    }

    [Fact]
    public async Task Wrong_codes_to_disable_MFA_are_throttled_with_the_accounts_logins()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (caller, _) = await silo.SignUpAsync("dee@example.com");
        var (enrollment, _) = await silo.EnableMfaAsync(caller);
        var user = silo.User(caller);
        var wrong = WrongCode(silo, enrollment);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("code", (await Assert.ThrowsAsync<InvalidFieldException>(() => user.DisableMfa(caller, wrong))).Field);
        }

        // Now even the right code waits, and so does a login's code step: the failures are the account's.
        var throttled = await Assert.ThrowsAsync<TooManyAttemptsException>(() => user.DisableMfa(caller, silo.CodeFor(enrollment)));
        Assert.Equal(15 * 60, throttled.RetryAfterSeconds);
        Assert.True((await user.Get(caller)).MfaEnabled);
        var login = await silo.LoginAsync("dee@example.com", AccountsSilo.Password, "10.9.9.9");
        Assert.Equal(LoginStatus.MfaRequired, login.Status);
        Assert.Equal(LoginStatus.Throttled, (await CompleteAsync(silo, login.MfaChallenge!, silo.CodeFor(enrollment), "10.9.9.9")).Status);

        silo.Clock.Advance(TimeSpan.FromMinutes(15));
        await user.DisableMfa(caller, silo.CodeFor(enrollment));
        Assert.False((await user.Get(caller)).MfaEnabled);
    }

    [Fact]
    public async Task Unknown_emails_are_throttled_like_accounts_so_the_answer_does_not_tell_who_is_registered()
    {
        await using var silo = await AccountsSilo.StartAsync();
        await silo.SignUpAsync("known@example.com");
        var answers = new Dictionary<string, LoginResult>();
        foreach (var email in new[] { "known@example.com", "unknown@example.com" })
        {
            var address = $"10.{answers.Count + 1}.0.1";
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(LoginStatus.InvalidCredentials, (await silo.LoginAsync(email, "wrong password!", address)).Status);
            }

            answers[email] = await silo.LoginAsync(email, "wrong password!", address);
        }

        Assert.Equal((LoginStatus.Throttled, 60), (answers["known@example.com"].Status, answers["known@example.com"].RetryAfterSeconds));
        Assert.Equal(answers["known@example.com"], answers["unknown@example.com"]);

        silo.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(LoginStatus.InvalidCredentials, (await silo.LoginAsync("unknown@example.com", "wrong password!", "10.7.0.1")).Status);
    }

    [Fact]
    public async Task A_client_address_is_throttled_after_twenty_failures_across_accounts()
    {
        await using var silo = await AccountsSilo.StartAsync();
        await silo.SignUpAsync("fay@example.com");
        for (var i = 0; i < 20; i++)
        {
            // Unknown emails count too: guessing which emails exist is part of the attack.
            Assert.Equal(LoginStatus.InvalidCredentials, (await silo.LoginAsync($"nobody{i}@example.com", "wrong password!", "10.6.6.6")).Status);
        }

        var throttled = await silo.LoginAsync("fay@example.com", AccountsSilo.Password, "10.6.6.6");
        Assert.Equal(LoginStatus.Throttled, throttled.Status);
        Assert.True(throttled.RetryAfterSeconds > 0);
        Assert.Equal(LoginStatus.Succeeded, (await silo.LoginAsync("fay@example.com", AccountsSilo.Password, "10.7.7.7")).Status);
    }

    [Fact]
    public async Task Password_reset_link_works_once_and_ends_every_session()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (caller, _) = await silo.SignUpAsync("gil@example.com");
        var session = (await silo.LoginAsync("gil@example.com")).Tokens!;
        await silo.Grains.GetGrain<IEmailIndexGrain>("gil@example.com").RequestPasswordReset("10.0.0.1");
        var reset = await silo.TokenFromOutboxAsync("gil@example.com", GrainInterfaces.Mail.OutboxKinds.PasswordReset, SecretToken.PasswordReset);

        var weak = await Assert.ThrowsAsync<InvalidFieldException>(() => silo.User(caller).CompletePasswordReset(reset.Id, reset.Secret, "password123"));
        Assert.Equal("new_password", weak.Field);
        await silo.User(caller).CompletePasswordReset(reset.Id, reset.Secret, "a brand new passphrase");
        await Assert.ThrowsAsync<UnauthenticatedException>(() => silo.User(caller).CompletePasswordReset(reset.Id, reset.Secret, "another new passphrase"));

        await Assert.ThrowsAsync<UnauthenticatedException>(() => RefreshAsync(silo, session.RefreshToken));
        Assert.Equal(LoginStatus.InvalidCredentials, (await silo.LoginAsync("gil@example.com")).Status);
        Assert.Equal(LoginStatus.Succeeded, (await silo.LoginAsync("gil@example.com", "a brand new passphrase")).Status);
    }

    private static Task<TokenPair> RefreshAsync(AccountsSilo silo, string refreshToken)
    {
        Assert.True(SecretToken.TryParse(refreshToken, SecretToken.RefreshToken, out var token));
        return silo.Grains.GetGrain<IUserGrain>(token.Owner).Refresh(token.Id, token.Secret, "10.0.0.1");
    }

    private static Task<LoginResult> CompleteAsync(AccountsSilo silo, string challenge, string code, string address = "10.0.0.1")
    {
        Assert.True(SecretToken.TryParse(challenge, SecretToken.MfaChallenge, out var token));
        return silo.Grains.GetGrain<IUserGrain>(token.Owner).CompleteMfaLogin(token.Id, token.Secret, code, address);
    }

    /// <summary>Six digits the authenticator does not show in any step that counts now (a fixed guess could be right by chance).</summary>
    private static string WrongCode(AccountsSilo silo, MfaEnrollment enrollment)
    {
        var near = Enumerable.Range(-2, 5).Select(step => silo.CodeFor(enrollment, Totp.Step * step)).ToHashSet();
        return new[] { "000000", "111111", "222222", "333333", "444444", "555555" }.First(code => !near.Contains(code));
    }
}
