using System.Text;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Accounts;

namespace CloudDeck.Grains.Tests;

/// <summary>Sign-up, email verification, password rules, API tokens, and what reaches storage.</summary>
public sealed class AccountTests
{
    [Fact]
    public async Task Of_concurrent_sign_ups_with_one_email_exactly_one_wins()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var attempts = Enumerable.Range(0, 8).Select(async _ =>
        {
            try
            {
                return (await silo.SignUpAsync("race@example.com")).Caller.UserId;
            }
            catch (ConflictException)
            {
                return null;
            }
        });
        var winners = (await Task.WhenAll(attempts)).OfType<string>().ToList();
        Assert.Single(winners);
        Assert.Equal(winners[0], await silo.Grains.GetGrain<IEmailIndexGrain>("race@example.com").FindUserId());
    }

    [Fact]
    public async Task Sign_up_creates_a_personal_organization_and_a_verification_email()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (caller, slug) = await silo.SignUpAsync("ada@example.com");
        Assert.Equal("ada", slug);
        var account = await silo.User(caller).Get(caller);
        Assert.False(account.EmailVerified);
        Assert.Equal([new MembershipView("ada", "ada's projects", OrganizationRoles.Owner)], account.Organizations);
        Assert.True((await silo.Grains.GetGrain<IOrganizationGrain>(slug).Get(caller)).Personal);

        // Another "ada" at another domain gets a suffixed slug.
        var (_, otherSlug) = await silo.SignUpAsync("ada@example.org");
        Assert.StartsWith("ada-", otherSlug, StringComparison.Ordinal);

        var token = await silo.TokenFromOutboxAsync("ada@example.com", OutboxKinds.EmailVerification, SecretToken.EmailVerification);
        await Assert.ThrowsAsync<UnauthenticatedException>(() => silo.User(caller).VerifyEmail(token.Id, "not-the-secret"));
        await silo.User(caller).VerifyEmail(token.Id, token.Secret);
        Assert.True((await silo.User(caller).Get(caller)).EmailVerified);
    }

    [Theory]
    [InlineData("short", "at least 10")]
    [InlineData("password123", "too common")]
    [InlineData("qwertyuiop", "too common")]
    public async Task Weak_passwords_are_refused_and_leave_nothing_behind(string password, string reason)
    {
        await using var silo = await AccountsSilo.StartAsync();
        var refused = await Assert.ThrowsAsync<InvalidFieldException>(() => silo.SignUpAsync("weak@example.com", password));
        Assert.Equal("password", refused.Field);
        Assert.Contains(reason, refused.Problem, StringComparison.Ordinal);
        Assert.Null(await silo.Grains.GetGrain<IEmailIndexGrain>("weak@example.com").FindUserId());
        Assert.Empty(await silo.OutboxAsync("weak@example.com"));
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Grains.GetGrain<IOrganizationGrain>("weak").Get(new Caller("u0", "weak@example.com", "x")));
    }

    [Fact]
    public async Task Api_tokens_are_shown_once_scoped_expiring_revocable_and_only_their_owners()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (caller, _) = await silo.SignUpAsync("ci@example.com");
        var (stranger, _) = await silo.SignUpAsync("stranger@example.com");
        var user = silo.User(caller);

        var created = await user.CreateApiToken(caller, new CreateApiToken("ci", [ApiTokenScopes.Deploy], silo.Clock.GetUtcNow().AddDays(1)));
        Assert.True(SecretToken.TryParse(created.Token, SecretToken.ApiToken, out var token));
        var identity = await user.AuthenticateApiToken(token.Id, token.Secret);
        Assert.Equal([ApiTokenScopes.Deploy], identity!.Scopes);
        Assert.Null(await user.AuthenticateApiToken(token.Id, token.Secret + "x"));

        var listed = Assert.Single(await user.ListApiTokens(caller));
        Assert.Equal(("ci", silo.Clock.GetUtcNow()), (listed.Name, listed.LastUsedAt));
        Assert.DoesNotContain(token.Secret, listed.ToString(), StringComparison.Ordinal);
        await Assert.ThrowsAsync<NotFoundException>(() => user.ListApiTokens(stranger));

        // A deploy token cannot mint an admin token; a read token cannot mint at all.
        var asToken = caller with { Scopes = identity.Scopes };
        await Assert.ThrowsAsync<ForbiddenException>(() => user.CreateApiToken(asToken, new CreateApiToken("x", [ApiTokenScopes.Admin], null)));
        await Assert.ThrowsAsync<ForbiddenException>(() => user.EnrollMfa(caller with { Scopes = [ApiTokenScopes.Admin] }));
        var bad = await Assert.ThrowsAsync<InvalidFieldException>(() => user.CreateApiToken(caller, new CreateApiToken("x", ["root"], null)));
        Assert.Equal("scopes", bad.Field);

        silo.Clock.Advance(TimeSpan.FromDays(1));
        Assert.Null(await user.AuthenticateApiToken(token.Id, token.Secret));

        var second = await user.CreateApiToken(caller, new CreateApiToken("cli", [ApiTokenScopes.Admin], null));
        Assert.True(SecretToken.TryParse(second.Token, SecretToken.ApiToken, out var secondToken));
        await user.RevokeApiToken(caller, second.Details.Id);
        Assert.Null(await user.AuthenticateApiToken(secondToken.Id, secondToken.Secret));
        await Assert.ThrowsAsync<NotFoundException>(() => user.RevokeApiToken(caller, second.Details.Id));
    }

    [Fact]
    public async Task Storage_holds_no_password_token_secret_or_recovery_code()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true);
        var (caller, _) = await silo.SignUpAsync("store@example.com");
        var user = silo.User(caller);
        var session = (await silo.LoginAsync("store@example.com")).Tokens!;
        var apiToken = await user.CreateApiToken(caller, new CreateApiToken("ci", [ApiTokenScopes.Read], null));
        var (_, recoveryCodes) = await silo.EnableMfaAsync(caller);
        var mfaLogin = await silo.LoginAsync("store@example.com");
        await silo.Grains.GetGrain<IEmailIndexGrain>("store@example.com").RequestPasswordReset("10.0.0.1");
        var reset = await silo.TokenFromOutboxAsync("store@example.com", OutboxKinds.PasswordReset, SecretToken.PasswordReset);
        var verification = await silo.TokenFromOutboxAsync("store@example.com", OutboxKinds.EmailVerification, SecretToken.EmailVerification);

        string[] secrets =
        [
            AccountsSilo.Password, Part(session.RefreshToken, SecretToken.RefreshToken), Part(apiToken.Token, SecretToken.ApiToken),
            Part(mfaLogin.MfaChallenge!, SecretToken.MfaChallenge), reset.Secret, .. recoveryCodes,
        ];
        // The outbox keeps the links it will send, so the stored bytes are read with the outbox rows left out.
        var stored = await ReadStoredStateAsync(silo, exceptOutbox: true);
        foreach (var secret in secrets) Assert.DoesNotContain(secret, stored, StringComparison.Ordinal);
        Assert.Contains(Secrets.Hash(Part(apiToken.Token, SecretToken.ApiToken)), stored, StringComparison.Ordinal);
        Assert.DoesNotContain(verification.Secret, stored, StringComparison.Ordinal);
    }

    private static string Part(string token, string prefix)
    {
        Assert.True(SecretToken.TryParse(token, prefix, out var parsed));
        return parsed.Secret;
    }

    private static async Task<string> ReadStoredStateAsync(AccountsSilo silo, bool exceptOutbox)
    {
        // Through SQLite itself, so rows still in the WAL are read as well.
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(silo.DataDirectory, "clouddeck.db")};Mode=ReadOnly");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        var text = new StringBuilder();
        await using var tables = connection.CreateCommand();
        tables.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
        var names = new List<string>();
        await using (var reader = await tables.ExecuteReaderAsync(TestContext.Current.CancellationToken))
        {
            while (await reader.ReadAsync(TestContext.Current.CancellationToken)) names.Add(reader.GetString(0));
        }

        foreach (var name in names)
        {
            await using var rows = connection.CreateCommand();
            rows.CommandText = $"SELECT * FROM \"{name}\"";
            await using var reader = await rows.ExecuteReaderAsync(TestContext.Current.CancellationToken);
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            {
                var row = string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)));
                if (exceptOutbox && row.Contains("outbox", StringComparison.OrdinalIgnoreCase)) continue;
                text.AppendLine(row);
            }
        }

        Assert.Contains("store@example.com", text.ToString(), StringComparison.Ordinal);
        return text.ToString();
    }
}
