using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Organizations;

namespace CloudDeck.Grains.Tests;

/// <summary>Plan limits counted in the organization's quota grain: exact refusals, period boundaries on a manual clock, members and builds.</summary>
public sealed class QuotaTests
{
    private static readonly DateTimeOffset LateOnTheLastDayOfJanuary = new(2030, 1, 31, 23, 59, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_reservation_counts_its_daily_limits_together_once_refuses_all_or_nothing_and_is_returned_whole_once()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true, settings: new Dictionary<string, string?>
        {
            ["CloudDeck:Plans:Hobby:DeploymentsPerDay"] = "2",
            ["CloudDeck:Plans:Hobby:BuildsPerDay"] = "3",
        });
        silo.Clock.Set(LateOnTheLastDayOfJanuary.AddHours(-12));
        IOrganizationQuotaGrain Quota() => silo.Grains.GetGrain<IOrganizationQuotaGrain>("acme");
        var quota = Quota();
        QuotaReservation Deployment(string id) =>
            new(id, [QuotaLimits.DeploymentsPerDay, QuotaLimits.BuildsPerDay], [QuotaLimits.BuildMinutesPerMonth]);
        async Task<(long, long)> CountsAsync()
        {
            var limits = (await Quota().GetUsage()).Limits;
            return (limits.Single(l => l.Limit == QuotaLimits.DeploymentsPerDay).Current, limits.Single(l => l.Limit == QuotaLimits.BuildsPerDay).Current);
        }

        await quota.Reserve(Deployment("one"));
        await quota.Reserve(Deployment("one")); // a retry of the same reservation
        Assert.Equal((1, 1), await CountsAsync());
        await quota.Reserve(Deployment("two"));
        Assert.Equal((2, 2), await CountsAsync());

        // The day's deployments are spent: refused, and the builds it would have counted too are left alone.
        var refused = await Assert.ThrowsAsync<RateLimitExceededException>(() => quota.Reserve(Deployment("three")));
        Assert.Equal(QuotaLimits.DeploymentsPerDay, refused.Refusal.Limit);
        Assert.Equal((2, 2), await CountsAsync());

        // Returned whole, once; an unknown one changes nothing. Stored: a restart keeps the counts and the reservations.
        await quota.Return("two");
        await quota.Return("two");
        await quota.Return("never-reserved");
        Assert.Equal((1, 1), await CountsAsync());
        await silo.RestartAsync(graceful: false);
        quota = Quota();
        Assert.Equal((1, 1), await CountsAsync());
        await quota.Return("one");
        Assert.Equal((0, 0), await CountsAsync());

        // A reservation of yesterday returned today gives back nothing of today's.
        await quota.Reserve(Deployment("late"));
        silo.Clock.Advance(TimeSpan.FromDays(1));
        await quota.Reserve(Deployment("today"));
        await quota.Return("late");
        Assert.Equal((1, 1), await CountsAsync());
    }

    [Fact]
    public async Task Daily_and_monthly_counters_start_again_at_the_utc_boundary_without_waiting_for_the_reminder()
    {
        await using var silo = await AccountsSilo.StartAsync(settings: new Dictionary<string, string?>
        {
            ["CloudDeck:Plans:Hobby:BuildsPerDay"] = "3",
            ["CloudDeck:Plans:Hobby:BuildMinutesPerMonth"] = "100",
        });
        silo.Clock.Set(LateOnTheLastDayOfJanuary);
        var quota = silo.Grains.GetGrain<IOrganizationQuotaGrain>("acme");

        for (var i = 1; i <= 3; i++) Assert.Equal(i, (await quota.Count(QuotaLimits.BuildsPerDay, 1)).Current);
        var refused = await Assert.ThrowsAsync<RateLimitExceededException>(() => quota.Count(QuotaLimits.BuildsPerDay, 1));
        Assert.Equal(new QuotaRefusal(QuotaLimits.BuildsPerDay, 3, 3, new DateTimeOffset(2030, 2, 1, 0, 0, 0, TimeSpan.Zero)), refused.Refusal);

        // Usage that happened is recorded even past the maximum; then the month refuses more with a 402.
        await quota.Record(QuotaLimits.BuildMinutesPerMonth, 120);
        var monthly = await Assert.ThrowsAsync<PlanLimitExceededException>(() => quota.EnsureRoomForOneMore(QuotaLimits.BuildMinutesPerMonth, 0));
        Assert.Equal(new QuotaRefusal(QuotaLimits.BuildMinutesPerMonth, 120, 100, new DateTimeOffset(2030, 2, 1, 0, 0, 0, TimeSpan.Zero)), monthly.Refusal);

        // One minute later it is February (UTC): the day's and the month's counters start from 0, reminder or not.
        silo.Clock.Advance(TimeSpan.FromMinutes(1));
        var usage = await quota.GetUsage();
        Assert.Equal(0, usage.Limits.Single(l => l.Limit == QuotaLimits.BuildsPerDay).Current);
        Assert.Equal(0, usage.Limits.Single(l => l.Limit == QuotaLimits.BuildMinutesPerMonth).Current);
        Assert.Equal(new DateTimeOffset(2030, 3, 1, 0, 0, 0, TimeSpan.Zero), usage.Limits.Single(l => l.Limit == QuotaLimits.BuildMinutesPerMonth).ResetsAt);
        Assert.Equal(1, (await quota.Count(QuotaLimits.BuildsPerDay, 1)).Current);
        await quota.EnsureRoomForOneMore(QuotaLimits.BuildMinutesPerMonth, 0);

        // Within February, the next day starts the day's counter again but not the month's.
        await quota.Record(QuotaLimits.BuildMinutesPerMonth, 30);
        silo.Clock.Advance(TimeSpan.FromDays(1));
        usage = await quota.GetUsage();
        Assert.Equal(0, usage.Limits.Single(l => l.Limit == QuotaLimits.BuildsPerDay).Current);
        Assert.Equal(30, usage.Limits.Single(l => l.Limit == QuotaLimits.BuildMinutesPerMonth).Current);
    }

    [Fact]
    public async Task Counts_are_written_on_change_so_a_crash_keeps_them_until_the_period_ends()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true, settings: new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:BuildsPerDay"] = "5" });
        silo.Clock.Set(LateOnTheLastDayOfJanuary);
        var quota = silo.Grains.GetGrain<IOrganizationQuotaGrain>("acme");
        await quota.Count(QuotaLimits.BuildsPerDay, 4);

        // Written on change: after a crash (nothing written on the way down) the new activation reads the count back.
        await silo.RestartAsync(graceful: false);
        quota = silo.Grains.GetGrain<IOrganizationQuotaGrain>("acme");
        Assert.Equal(4, (await quota.GetUsage()).Limits.Single(l => l.Limit == QuotaLimits.BuildsPerDay).Current);
        await Assert.ThrowsAsync<RateLimitExceededException>(() => quota.Count(QuotaLimits.BuildsPerDay, 2));

        silo.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(5, (await quota.Count(QuotaLimits.BuildsPerDay, 5)).Current);
    }

    [Fact]
    public async Task The_midnight_reminder_starts_the_new_day_in_the_stored_state_without_any_call()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true);
        // Five seconds of (real) time before midnight on the manual clock: the reminder registered by the first count is due
        // then. On a loaded machine it may fire before the clock is advanced below; it then finds the old day and asks again
        // at midnight, which is what the loop below waits for.
        silo.Clock.Set(new DateTimeOffset(2030, 1, 31, 23, 59, 55, TimeSpan.Zero));
        await silo.Grains.GetGrain<IOrganizationQuotaGrain>("acme").Count(QuotaLimits.BuildsPerDay, 4);
        Assert.Equal(4, await StoredBuildsTodayAsync(silo));

        silo.Clock.Advance(TimeSpan.FromSeconds(6));
        // Waiting for the reminder to fire (real time, due in about five seconds); nothing calls the grain meanwhile.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await StoredBuildsTodayAsync(silo) != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The period reminder did not start the new day in the stored state.");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task A_period_tick_that_comes_before_midnight_by_the_silos_clock_asks_again_and_then_starts_the_new_day()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true);
        silo.Clock.Set(new DateTimeOffset(2030, 1, 31, 23, 59, 55, TimeSpan.Zero));
        await silo.Grains.GetGrain<IOrganizationQuotaGrain>("acme").Count(QuotaLimits.BuildsPerDay, 4);

        // The reminder is due in about five seconds of real time; the silo's clock stays at 23:59:55 until well after,
        // so its first tick finds the old day (as a tick early by the silo's clock does). Only then is midnight passed.
        await Task.Delay(TimeSpan.FromSeconds(8), TestContext.Current.CancellationToken);
        Assert.Equal(4, await StoredBuildsTodayAsync(silo));
        silo.Clock.Advance(TimeSpan.FromSeconds(6));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await StoredBuildsTodayAsync(silo) != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "After an early tick the period reminder did not start the new day in the stored state.");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>The builds_per_day count as written in the quota grain's stored state.</summary>
    private static async Task<long> StoredBuildsTodayAsync(AccountsSilo silo)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(silo.DataDirectory, "clouddeck.db")};Mode=ReadOnly");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload FROM grain_state WHERE grain_key = 'acme' AND state_name = 'organization-quota'";
        var payload = (byte[]?)await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);
        var state = System.Text.Json.JsonSerializer.Deserialize<Organizations.OrganizationQuotaState>(payload!, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
        return state.Counters[QuotaLimits.BuildsPerDay].Used;
    }

    [Fact]
    public async Task Invitations_and_acceptances_beyond_the_plans_team_members_are_refused_with_402_until_the_owner_upgrades()
    {
        await using var silo = await AccountsSilo.StartAsync(settings: new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:TeamMembers"] = "2" });
        var (owner, _) = await silo.SignUpAsync("olive@example.com");
        var (ann, _) = await silo.SignUpAsync("ann@example.com", verified: true);
        var org = silo.Grains.GetGrain<IOrganizationGrain>("acme");
        Assert.Equal(PlanNames.Hobby, (await org.Create(owner, "Acme", personal: false)).Plan);

        // The pending invitation holds the second seat.
        await org.Invite(owner, "ann@example.com", OrganizationRoles.Developer);
        var refused = await Assert.ThrowsAsync<PlanLimitExceededException>(() => org.Invite(owner, "bob@example.com", OrganizationRoles.Viewer));
        Assert.Equal(new QuotaRefusal(QuotaLimits.TeamMembers, 2, 2, null), refused.Refusal);

        var token = await silo.TokenFromOutboxAsync("ann@example.com", OutboxKinds.Invitation, SecretToken.Invitation);
        await org.AcceptInvitation(ann, token.Id, token.Secret);
        await Assert.ThrowsAsync<PlanLimitExceededException>(() => org.Invite(owner, "bob@example.com", OrganizationRoles.Viewer));
        var quotas = await org.GetQuotas(ann);
        Assert.Equal(new QuotaLimitView(QuotaLimits.TeamMembers, QuotaKinds.Ceiling, 2, 2, null), quotas.Limits.Single(l => l.Limit == QuotaLimits.TeamMembers));

        // Only the owner changes the plan; after the upgrade the limit is Pro's.
        await Assert.ThrowsAsync<ForbiddenException>(() => org.ChangePlan(ann, PlanNames.Pro));
        await Assert.ThrowsAsync<NotFoundException>(() => org.GetQuotas(new Caller("u_outsider0000000000000000", "eve@example.com", "10.0.0.9")));
        Assert.Equal(PlanNames.Pro, (await org.ChangePlan(owner, PlanNames.Pro)).Plan);
        await org.Invite(owner, "bob@example.com", OrganizationRoles.Viewer);
        Assert.Equal(PlanNames.Pro, (await org.GetQuotas(owner)).Plan);
    }

    [Fact]
    public async Task A_full_organization_keeps_the_invitation_so_it_can_be_accepted_after_an_upgrade()
    {
        await using var silo = await AccountsSilo.StartAsync(settings: new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:TeamMembers"] = "2" });
        var (owner, _) = await silo.SignUpAsync("olive@example.com");
        var (ann, _) = await silo.SignUpAsync("ann@example.com", verified: true);
        var org = silo.Grains.GetGrain<IOrganizationGrain>("acme");
        await org.Create(owner, "Acme", personal: false);
        await org.ChangePlan(owner, PlanNames.Pro);
        await org.Invite(owner, "ann@example.com", OrganizationRoles.Developer);
        await org.Invite(owner, "bob@example.com", OrganizationRoles.Developer);
        await org.ChangePlan(owner, PlanNames.Hobby);
        var (bob, _) = await silo.SignUpAsync("bob@example.com", verified: true);
        var bobsToken = await silo.TokenFromOutboxAsync("bob@example.com", OutboxKinds.Invitation, SecretToken.Invitation);
        var annsToken = await silo.TokenFromOutboxAsync("ann@example.com", OutboxKinds.Invitation, SecretToken.Invitation);

        await org.AcceptInvitation(ann, annsToken.Id, annsToken.Secret);
        await Assert.ThrowsAsync<PlanLimitExceededException>(() => org.AcceptInvitation(bob, bobsToken.Id, bobsToken.Secret));
        await org.ChangePlan(owner, PlanNames.Team);
        await org.AcceptInvitation(bob, bobsToken.Id, bobsToken.Secret);
        Assert.Equal(3, (await org.Get(owner)).MemberCount);
    }

    [Fact]
    public async Task A_build_takes_a_concurrent_slot_and_one_of_the_days_builds_and_gives_the_slot_back_when_it_finishes()
    {
        await using var silo = await AccountsSilo.StartAsync(settings: new Dictionary<string, string?>
        {
            ["CloudDeck:Plans:Hobby:ConcurrentBuilds"] = "1",
            ["CloudDeck:Plans:Hobby:BuildsPerDay"] = "2",
        });
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        var first = silo.Grains.GetGrain<IBuildGrain>(BuildIds.New());
        await first.Create(owner, org, "web");
        await first.Start();

        var busy = await Assert.ThrowsAsync<RateLimitExceededException>(() => silo.Grains.GetGrain<IBuildGrain>(BuildIds.New()).Create(owner, org, "web"));
        Assert.Equal(new QuotaRefusal(QuotaLimits.ConcurrentBuilds, 1, 1, null), busy.Refusal);

        silo.Clock.Advance(TimeSpan.FromSeconds(61));
        await first.Finish(BuildStatuses.Succeeded);
        await first.Finish(BuildStatuses.Succeeded);
        var second = silo.Grains.GetGrain<IBuildGrain>(BuildIds.New());
        await second.Create(owner, org, "web");
        await second.Finish(BuildStatuses.Canceled);

        var daily = await Assert.ThrowsAsync<RateLimitExceededException>(() => silo.Grains.GetGrain<IBuildGrain>(BuildIds.New()).Create(owner, org, "web"));
        Assert.Equal(QuotaLimits.BuildsPerDay, daily.Refusal.Limit);
        var usage = await silo.Grains.GetGrain<IOrganizationGrain>(org).GetQuotas(owner);
        Assert.Equal(0, usage.Limits.Single(l => l.Limit == QuotaLimits.ConcurrentBuilds).Current);
        Assert.Equal(2, usage.Limits.Single(l => l.Limit == QuotaLimits.BuildMinutesPerMonth).Current);

        // Tomorrow the day's builds are back, but a month whose build minutes are spent starts none (402).
        silo.Clock.Advance(TimeSpan.FromDays(1));
        await silo.Grains.GetGrain<IOrganizationQuotaGrain>(org).Record(QuotaLimits.BuildMinutesPerMonth, 10_000);
        var spent = await Assert.ThrowsAsync<PlanLimitExceededException>(() => silo.Grains.GetGrain<IBuildGrain>(BuildIds.New()).Create(owner, org, "web"));
        Assert.Equal(QuotaLimits.BuildMinutesPerMonth, spent.Refusal.Limit);
    }
}
