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
        var index = silo.Grains.GetGrain<IEmailIndexGrain>("race@example.com");
        var attempts = Enumerable.Range(0, 8).Select(_ => index.SignUp(new SignUpRequest("race@example.com", AccountsSilo.Password, "race", "10.0.0.1")));
        var winners = (await Task.WhenAll(attempts)).OfType<SignUpResult>().Select(r => r.Account.UserId).ToList();
        Assert.Single(winners);
        Assert.Equal(winners[0], await index.FindUserId());
        // The others created nothing; the address's owner was told of each attempt.
        Assert.Equal(7, (await silo.Grains.GetGrain<IOutboxGrain>("race@example.com").List()).Count(m => m.Kind == OutboxKinds.SignUpAttempt));
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
    public async Task A_95_character_name_signs_up_fully_with_the_personal_organization_name_cut_to_fit()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var name = new string('n', 95);
        var (caller, slug) = await silo.SignUpAsync("alice@example.com", name: name);

        Assert.Equal(caller.UserId, await silo.Grains.GetGrain<IEmailIndexGrain>("alice@example.com").FindUserId());
        Assert.Equal(name, (await silo.User(caller).Get(caller)).Name);
        var organization = await silo.Grains.GetGrain<IOrganizationGrain>(slug).Get(caller);
        Assert.Equal(new string('n', 89) + "'s projects", organization.Name);
        Assert.Equal(100, organization.Name.Length);
        Assert.Equal([OutboxKinds.EmailVerification], (await silo.OutboxAsync("alice@example.com")).Select(m => m.Kind));
    }

    /// <summary>By label, so that test names do not carry the control characters themselves.</summary>
    private static readonly Dictionary<string, (string Name, string Reason)> RefusedNames = new()
    {
        ["101 characters"] = (new string('n', 101), "1–100 characters"),
        ["blank"] = ("   ", "1–100 characters"),
        ["CR LF header injection"] = ("Eve\r\nBcc: everyone@example.com", "control characters"),
        ["NUL"] = ("Eve\u0000", "control characters"),
        ["U+2028 line separator"] = ("Eve\u2028Mallory", "line breaks"),
    };

    [Theory]
    [InlineData("101 characters")]
    [InlineData("blank")]
    [InlineData("CR LF header injection")]
    [InlineData("NUL")]
    [InlineData("U+2028 line separator")]
    public async Task A_refused_sign_up_name_leaves_no_user_email_or_slug_behind(string label)
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (name, reason) = RefusedNames[label];
        var refused = await Assert.ThrowsAsync<InvalidFieldException>(() => silo.SignUpAsync("alice@example.com", name: name));
        Assert.Equal("name", refused.Field);
        Assert.Contains(reason, refused.Problem, StringComparison.Ordinal);

        Assert.Null(await silo.Grains.GetGrain<IEmailIndexGrain>("alice@example.com").FindUserId());
        Assert.Empty(await silo.OutboxAsync("alice@example.com"));
        // The slug the personal organization would have had is free for anyone.
        var (bob, _) = await silo.SignUpAsync("bob@example.com");
        Assert.Equal("Alice Inc", (await silo.Grains.GetGrain<IOrganizationGrain>("alice").Create(bob, "Alice Inc", personal: false)).Name);
        // And the address can still sign up, with a name that is fine.
        Assert.StartsWith("alice-", (await silo.SignUpAsync("alice@example.com", name: "Alice")).PersonalOrganization, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_tokens_are_shown_once_scoped_expiring_revocable_and_only_their_owners()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (caller, _) = await silo.SignUpAsync("ci@example.com", verified: true);
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
        var (caller, _) = await silo.SignUpAsync("store@example.com", verified: true);
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
        var (stored, outbox) = await ReadStoredStateAsync(silo);
        foreach (var secret in secrets) Assert.DoesNotContain(secret, stored, StringComparison.Ordinal);
        Assert.Contains(Secrets.Hash(Part(apiToken.Token, SecretToken.ApiToken)), stored, StringComparison.Ordinal);
        Assert.DoesNotContain(verification.Secret, stored, StringComparison.Ordinal);
        // The one exception, by design: the outbox keeps the last messages it sent or is to send, links included.
        Assert.Contains(reset.Secret, outbox, StringComparison.Ordinal);
    }

    private static string Part(string token, string prefix)
    {
        Assert.True(SecretToken.TryParse(token, prefix, out var parsed));
        return parsed.Secret;
    }

    /// <summary>
    /// Every stored row as text, with the outbox grain's rows apart: the outbox keeps the last messages it sent or is
    /// to send, one-time links included (docs/email.md). Only its rows are set apart (by grain type and
    /// state name), so a secret in any other row, even one that mentions the outbox, is still found.
    /// </summary>
    private static async Task<(string Stored, string Outbox)> ReadStoredStateAsync(AccountsSilo silo)
    {
        const string outboxGrainType = "outbox"; // OutboxGrain's default grain type name
        // Through SQLite itself, so rows still in the WAL are read as well.
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(silo.DataDirectory, "clouddeck.db")};Mode=ReadOnly");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        var stored = new StringBuilder();
        var outbox = new StringBuilder();
        await using var tables = connection.CreateCommand();
        tables.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
        var names = new List<string>();
        await using (var reader = await tables.ExecuteReaderAsync(TestContext.Current.CancellationToken))
        {
            while (await reader.ReadAsync(TestContext.Current.CancellationToken)) names.Add(reader.GetString(0));
        }

        Assert.Contains("grain_state", names);
        foreach (var name in names)
        {
            await using var rows = connection.CreateCommand();
            rows.CommandText = $"SELECT * FROM \"{name}\"";
            await using var reader = await rows.ExecuteReaderAsync(TestContext.Current.CancellationToken);
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            {
                var row = string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "" : reader.GetValue(i) is byte[] utf8 ? System.Text.Encoding.UTF8.GetString(utf8) : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)));
                var isOutbox = name == "grain_state"
                    && reader.GetString(reader.GetOrdinal("grain_type")) == outboxGrainType && reader.GetString(reader.GetOrdinal("state_name")) == "outbox";
                (isOutbox ? outbox : stored).AppendLine(row);
            }
        }

        Assert.Contains("store@example.com", stored.ToString(), StringComparison.Ordinal);
        Assert.True(outbox.Length > 0, "No outbox rows were found: the grain type or state name they are recognized by has changed.");
        return (stored.ToString(), outbox.ToString());
    }
}
