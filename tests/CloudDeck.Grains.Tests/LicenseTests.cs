using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Licenses;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Licenses;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Tests;

/// <summary>License grains: device limit, revocation, expiry, the per-day quota on a manual clock, authorization, history stream.</summary>
public sealed class LicenseTests
{
    private static async Task<(AccountsSilo Silo, Caller Owner, IOrganizationLicensesGrain Licenses)> StartAsync()
    {
        var silo = await AccountsSilo.StartAsync();
        var (owner, _) = await silo.SignUpAsync("olive@example.com", verified: true);
        await silo.Grains.GetGrain<IOrganizationGrain>("acme").Create(owner, "Acme", personal: false);
        return (silo, owner, silo.Grains.GetGrain<IOrganizationLicensesGrain>("acme"));
    }

    private static (ILicenseGrain Grain, string Hash) Key(AccountsSilo silo, IssuedLicense issued)
    {
        Assert.True(LicenseKey.TryParse(issued.LicenseKey, out var key));
        return (silo.Grains.GetGrain<ILicenseGrain>(key.Id), Secrets.Hash(key.Secret));
    }

    [Fact]
    public async Task A_machine_beyond_max_devices_is_refused_with_a_reason_until_another_is_deactivated()
    {
        var (silo, owner, licenses) = await StartAsync();
        await using var _ = silo;
        var issued = await licenses.Issue(owner, new IssueLicenseRequest("pro", "CI fleet", 2, null));
        Assert.Equal(LicenseTiers.Pro, issued.License.Tier);
        var (license, hash) = Key(silo, issued);

        Assert.True((await license.Validate(hash, "m1", "1.0", "10.0.0.1")).Valid);
        Assert.True((await license.Validate(hash, "m2", "1.0", "10.0.0.1")).Valid);
        var refused = await license.Validate(hash, "m3", "1.0", "10.0.0.1");
        Assert.False(refused.Valid);
        Assert.Equal(LicenseRefusals.DeviceLimit, refused.Reason);
        Assert.Contains("2 of 2 machines", refused.Detail, StringComparison.Ordinal);
        Assert.Equal(2, refused.DevicesUsed);
        // A machine already activated keeps working.
        Assert.True((await license.Validate(hash, "m1", "1.1", "10.0.0.1")).Valid);

        await license.Deactivate(hash, "m1");
        var admitted = await license.Validate(hash, "m3", "1.0", "10.0.0.1");
        Assert.True(admitted.Valid);
        Assert.Equal(["m2", "m3"], (await licenses.Get(owner, issued.License.Id)).Devices.Select(d => d.MachineId));

        // An admin can free a slot too.
        await licenses.RemoveDevice(owner, issued.License.Id, "m2");
        Assert.True((await license.Validate(hash, "m4", null, "10.0.0.1")).Valid);
    }

    [Fact]
    public async Task Revoked_and_expired_licenses_are_refused_and_wrong_secrets_are_not_found()
    {
        var (silo, owner, licenses) = await StartAsync();
        await using var _ = silo;
        var expiring = await licenses.Issue(owner, new IssueLicenseRequest("TEAM", "Trial", null, silo.Clock.GetUtcNow().AddDays(1)));
        var revoking = await licenses.Issue(owner, new IssueLicenseRequest("ENT", "Big", null, null));
        Assert.Equal(-1, revoking.License.MaxDevices);
        Assert.Equal(25, expiring.License.MaxDevices);

        var (trial, trialHash) = Key(silo, expiring);
        var valid = await trial.Validate(trialHash, "m1", null, "10.0.0.1");
        Assert.True(valid.Valid);
        Assert.Equal(silo.Clock.GetUtcNow().AddHours(1), valid.CachedUntil);
        Assert.Equal(100_000, valid.Quotas[LicenseOptions.CommandsPerDay]);
        Assert.Contains("sso", valid.Features);
        silo.Clock.Advance(TimeSpan.FromHours(23.5));
        Assert.Equal(expiring.License.ExpiresAt, (await trial.Validate(trialHash, "m1", null, "10.0.0.1")).CachedUntil);
        silo.Clock.Advance(TimeSpan.FromHours(0.5));
        var expired = await trial.Validate(trialHash, "m1", null, "10.0.0.1");
        Assert.False(expired.Valid);
        Assert.Equal(LicenseRefusals.Expired, expired.Reason);
        Assert.Equal(LicenseView.StatusExpired, (await licenses.Get(owner, expiring.License.Id)).Status);

        var (big, bigHash) = Key(silo, revoking);
        Assert.True((await big.Validate(bigHash, "m1", null, "10.0.0.1")).Valid);
        Assert.Equal(LicenseView.StatusRevoked, (await licenses.Revoke(owner, revoking.License.Id)).Status);
        var revoked = await big.Validate(bigHash, "m1", null, "10.0.0.1");
        Assert.False(revoked.Valid);
        Assert.Equal(LicenseRefusals.Revoked, revoked.Reason);
        Assert.False((await big.Consume(bigHash, "m1", 1, "10.0.0.1")).Allowed);

        await Assert.ThrowsAsync<NotFoundException>(() => big.Validate(trialHash, "m1", null, "10.0.0.1"));
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Grains.GetGrain<ILicenseGrain>("00000000000000aa").Validate(bigHash, "m1", null, "10.0.0.1"));
    }

    [Fact]
    public async Task The_per_day_command_quota_is_counted_in_memory_and_resets_at_the_UTC_day_boundary()
    {
        var (silo, owner, licenses) = await StartAsync();
        await using var _ = silo;
        silo.Clock.Set(new DateTimeOffset(2030, 3, 10, 23, 0, 0, TimeSpan.Zero));
        var (license, hash) = Key(silo, await licenses.Issue(owner, new IssueLicenseRequest("FREE", "Hobby", null, null)));
        var midnight = new DateTimeOffset(2030, 3, 11, 0, 0, 0, TimeSpan.Zero);

        var first = await license.Consume(hash, "m1", 60, "10.0.0.1");
        Assert.True(first.Allowed);
        Assert.Equal((100L, 60L, 40L, midnight), (first.Limit, first.Used, first.Remaining, first.ResetsAt));
        Assert.True((await license.Consume(hash, "m1", 40, "10.0.0.1")).Allowed);
        var over = await license.Consume(hash, "m1", 1, "10.0.0.1");
        Assert.False(over.Allowed);
        Assert.Equal(LicenseRefusals.QuotaExceeded, over.Reason);
        Assert.Equal(100, over.Used);

        silo.Clock.Set(midnight.AddTicks(-1));
        Assert.False((await license.Consume(hash, "m1", 1, "10.0.0.1")).Allowed);
        silo.Clock.Set(midnight);
        var next = await license.Consume(hash, "m1", 1, "10.0.0.1");
        Assert.True(next.Allowed);
        Assert.Equal((1L, midnight.AddDays(1)), (next.Used, next.ResetsAt));
    }

    [Fact]
    public async Task Only_admins_and_owners_manage_licenses_and_another_tenants_license_is_not_found()
    {
        var (silo, owner, licenses) = await StartAsync();
        await using var _ = silo;
        var org = silo.Grains.GetGrain<IOrganizationGrain>("acme");
        var (developer, _) = await silo.SignUpAsync("dev@example.com", verified: true);
        var (admin, _) = await silo.SignUpAsync("ada@example.com", verified: true);
        var (outsider, outsiderOrg) = await silo.SignUpAsync("out@example.com", verified: true);
        await OrganizationTests.JoinAsync(silo, org, owner, developer, OrganizationRoles.Developer);
        await OrganizationTests.JoinAsync(silo, org, owner, admin, OrganizationRoles.Admin);

        var request = new IssueLicenseRequest("PRO", "Seat", null, null);
        var issued = await licenses.Issue(admin, request);
        await Assert.ThrowsAsync<ForbiddenException>(() => licenses.Issue(developer, request));
        await Assert.ThrowsAsync<ForbiddenException>(() => licenses.List(developer));
        await Assert.ThrowsAsync<ForbiddenException>(() => licenses.Issue(admin with { Scopes = [ApiTokenScopes.Read] }, request));
        Assert.Single(await licenses.List(admin with { Scopes = [ApiTokenScopes.Read] }));
        await Assert.ThrowsAsync<NotFoundException>(() => licenses.List(outsider));
        await Assert.ThrowsAsync<NotFoundException>(() => licenses.Revoke(outsider, issued.License.Id));

        // The outsider's own organization does not hold acme's license: 404, as for an id that does not exist.
        var theirs = silo.Grains.GetGrain<IOrganizationLicensesGrain>(outsiderOrg);
        await Assert.ThrowsAsync<NotFoundException>(() => theirs.Get(outsider, issued.License.Id));
        await Assert.ThrowsAsync<NotFoundException>(() => theirs.Revoke(outsider, issued.License.Id));
        Assert.Equal(LicenseView.Active, (await licenses.Get(owner, issued.License.Id)).Status);

        await Assert.ThrowsAsync<InvalidFieldException>(() => licenses.Issue(owner, request with { Tier = "GOLD" }));
        await Assert.ThrowsAsync<InvalidFieldException>(() => licenses.Issue(owner, request with { MaxDevices = 0 }));
        await Assert.ThrowsAsync<InvalidFieldException>(() => licenses.Issue(owner, request with { ExpiresAt = silo.Clock.GetUtcNow() }));
        var audit = await org.GetAuditLog(owner, new AuditQuery());
        Assert.Contains(audit.Entries, e => e.Action == "license.issued" && e.Target.StartsWith(issued.License.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Validations_go_to_the_history_stream_in_order_and_the_key_is_never_stored()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true);
        var (owner, _) = await silo.SignUpAsync("olive@example.com", verified: true);
        await silo.Grains.GetGrain<IOrganizationGrain>("acme").Create(owner, "Acme", personal: false);
        var licenses = silo.Grains.GetGrain<IOrganizationLicensesGrain>("acme");
        var issued = await licenses.Issue(owner, new IssueLicenseRequest("PRO", "Seat", 1, null));
        var (license, hash) = Key(silo, issued);

        for (var i = 0; i < 5; i++) await license.Validate(hash, "m1", $"1.{i}", "10.0.0.7");
        await license.Validate(hash, "m2", "2.0", "10.0.0.8");
        await license.FlushHistory();
        // Alike validations between two flushes are one entry with a count.
        for (var i = 0; i < 3; i++)
        {
            await license.Validate(hash, "m1", "1.5", "10.0.0.7");
            silo.Clock.Advance(TimeSpan.FromSeconds(1));
        }

        await license.FlushHistory();

        var streams = silo.Services.GetRequiredService<ILogStreamProvider>();
        var page = await streams.GetStream<LicenseValidationEvent>(LicenseStreams.History, issued.License.Id).ReadAsync(LogPosition.First, 100);
        Assert.Equal(["1.0", "1.1", "1.2", "1.3", "1.4", "2.0", "1.5"], page.Items.Select(i => i.Item.Version));
        Assert.Equal(LicenseRefusals.DeviceLimit, page.Items[5].Item.Reason);
        Assert.All(page.Items.Take(5), i => Assert.True(i.Item.Valid && i.Item.Count == 1));
        var coalesced = page.Items[^1].Item;
        Assert.Equal((3, TimeSpan.FromSeconds(2)), (coalesced.Count, coalesced.LastAt - coalesced.FirstAt));

        Assert.True(LicenseKey.TryParse(issued.LicenseKey, out var key));
        var database = await File.ReadAllBytesAsync(Path.Combine(silo.DataDirectory, "clouddeck.db"), TestContext.Current.CancellationToken);
        var text = System.Text.Encoding.UTF8.GetString(database);
        Assert.DoesNotContain(key.Secret, text, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_with_a_wrong_check_segment_or_shape_do_not_parse()
    {
        var key = new LicenseKey(Secrets.NewId(), Secrets.NewSecret()).ToString();
        Assert.True(LicenseKey.TryParse(key, out _));
        Assert.Equal(LicenseKey.Length, key.Length);
        var typo = key[..10] + (key[10] == 'a' ? 'b' : 'a') + key[11..];
        Assert.False(LicenseKey.TryParse(typo, out _));
        Assert.False(LicenseKey.TryParse(key[..^1], out _));
        Assert.False(LicenseKey.TryParse(key.ToUpperInvariant(), out _));
        Assert.False(LicenseKey.TryParse("cdl_" + new string('0', LicenseKey.Length - 4), out _));
    }

    [Fact]
    public void Tiers_come_from_configuration_over_the_defaults_and_wrong_settings_name_themselves()
    {
        var options = LicenseOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CloudDeck:Licenses:Tiers:PRO:MaxDevices"] = "5",
            ["CloudDeck:Licenses:Tiers:PRO:Quotas:commands_per_day"] = "-1",
            ["CloudDeck:Licenses:Tiers:FREE:Features:0"] = "core",
            ["CloudDeck:Licenses:Tiers:FREE:Features:1"] = "beta",
        }).Build());
        Assert.Equal(5, options.Tier("PRO").MaxDevices);
        Assert.Equal(-1, options.Tier("PRO").Quotas["commands_per_day"]);
        Assert.Equal(["core", "offline"], options.Tier("PRO").Features);
        Assert.Equal(["core", "beta"], options.Tier("FREE").Features);
        // The built-in defaults are untouched by what was read.
        Assert.Equal((3, 10_000L), (LicenseOptions.Defaults["PRO"].MaxDevices, LicenseOptions.Defaults["PRO"].Quotas["commands_per_day"]));
        Assert.Equal(["core"], LicenseOptions.Defaults["FREE"].Features);

        var wrong = Assert.Throws<InvalidOperationException>(() => LicenseOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(
            new Dictionary<string, string?> { ["CloudDeck:Licenses:Tiers:GOLD:MaxDevices"] = "5" }).Build()));
        Assert.Contains("CloudDeck:Licenses:Tiers:GOLD", wrong.Message, StringComparison.Ordinal);
        var badKey = Assert.Throws<InvalidOperationException>(() => LicenseOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(
            new Dictionary<string, string?> { ["CloudDeck:Licenses:SigningKey"] = "not a pem" }).Build()));
        Assert.Contains("CloudDeck:Licenses:SigningKey", badKey.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_generated_signing_key_is_kept_with_mode_0600_and_reused()
    {
        var directory = Directory.CreateTempSubdirectory("clouddeck-license-key-").FullName;
        try
        {
            var options = LicenseOptions.Read(new ConfigurationBuilder().Build());
            using var first = LicenseSigningKey.Load(options, directory, cluster: false);
            using var second = LicenseSigningKey.Load(options, directory, cluster: false);
            Assert.Equal(first.KeyId, second.KeyId);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(LicenseSigningKey.PathUnder(directory)));
            }

            using var cluster = LicenseSigningKey.Load(options, directory, cluster: true);
            Assert.False(cluster.IsAvailable);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        await Task.CompletedTask;
    }
}
