using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Usage;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Cluster.Tests;

/// <summary>Usage metering across silo processes: totals stay exact when a silo is SIGKILLed while events are ingested.</summary>
public sealed class UsageClusterTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private const int Organizations = 6;
    private const int BatchesPerOrganization = 60;
    private const int EventsPerBatch = 100;

    [Fact]
    public async Task Usage_totals_are_exact_after_a_silo_is_SIGKILLed_during_ingest()
    {
        await using var cluster = await ClusterHarness.StartAsync(postgres, silos: 3, Ct);
        var streams = cluster.Services.GetRequiredService<ILogStreamProvider>();
        var time = DateTimeOffset.UtcNow;
        var period = BillingPeriods.Of(time);
        var organizations = Enumerable.Range(0, Organizations).Select(i => $"usage-{Guid.NewGuid():N}"[..20] + $"-{i}").ToArray();

        // The victim is the silo holding the most of these usage streams, so appends and deliveries are cut mid-flight.
        var hosts = await Task.WhenAll(organizations.Select(async org => (await streams.GetStream<UsageEvent>(UsageStreams.Namespace, org).GetInfoAsync()).Host));
        var victimName = hosts.GroupBy(host => host).OrderByDescending(g => g.Count()).First().Key;
        var victim = cluster.Silos.Single(silo => silo.Address.ToString() == victimName);

        var batchesSent = 0;
        var resentBatches = 0;
        var producers = organizations.Select(org => Task.Run(async () =>
        {
            var stream = streams.GetStream<UsageEvent>(UsageStreams.Namespace, org);
            for (var batch = 0; batch < BatchesPerOrganization; batch++)
            {
                UsageEvent[] events = [.. Enumerable.Range(0, EventsPerBatch).Select(i => Event(org, batch * EventsPerBatch + i, time))];
                await AppendUntilStoredAsync(stream, events);
                Interlocked.Increment(ref batchesSent);
                if (batch % 10 == 3)
                {
                    // An SDK that did not see the answer sends the same batch again: same ids, counted once.
                    await AppendUntilStoredAsync(stream, events);
                    Interlocked.Increment(ref resentBatches);
                }
            }
        }, Ct)).ToArray();

        while (Volatile.Read(ref batchesSent) < Organizations * BatchesPerOrganization / 3)
        {
            await Task.Delay(10, Ct);
        }

        victim.Process.Kill(Signal.SIGKILL);
        var sentAtKill = Volatile.Read(ref batchesSent);
        await Task.WhenAll(producers).WaitAsync(Patience, Ct);
        Assert.True(sentAtKill < Organizations * BatchesPerOrganization, "Ingest had finished before the silo was killed; the test proves nothing.");

        var expectedEvents = BatchesPerOrganization * EventsPerBatch;
        var expectedQuantity = Enumerable.Range(0, expectedEvents).Sum(n => Quantity(n));
        foreach (var org in organizations)
        {
            var meter = cluster.Grains.GetGrain<IUsageMeterGrain>(org);
            var stored = (await streams.GetStream<UsageEvent>(UsageStreams.Namespace, org).GetInfoAsync()).Last;
            var report = await WaitForAsync(() => meter.Report(period), r => r.Events + r.DuplicatesIgnored >= stored || r.Events > expectedEvents);
            Assert.Equal(expectedEvents, report.Events);
            Assert.Equal(expectedQuantity, report.Totals[UsageKinds.ApiRequests]);
            Assert.Equal(expectedQuantity, report.Days.Single(day => day.Date == BillingPeriods.DayOf(time)).Totals[UsageKinds.ApiRequests]);
            // Every item the stream holds beyond the distinct events is a resent batch or an append retried after the kill.
            Assert.Equal(stored - expectedEvents, report.DuplicatesIgnored);
        }

        Assert.Equal(Organizations * (BatchesPerOrganization / 10), resentBatches);
    }

    private static UsageEvent Event(string org, int n, DateTimeOffset time) => new($"{org}-{n}", UsageKinds.ApiRequests, Quantity(n), time);

    private static long Quantity(int n) => n % 7 + 1;

    /// <summary>A producer that retries until an append is acknowledged: a retry after a lost answer stores the batch twice.</summary>
    private static async Task AppendUntilStoredAsync(ILogStream<UsageEvent> stream, UsageEvent[] events)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                await stream.AppendBatchAsync(events);
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, Ct);
            }
        }
    }

    private static async Task<UsageReport> WaitForAsync(Func<Task<UsageReport>> read, Func<UsageReport, bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            UsageReport? report = null;
            try
            {
                report = await read();
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                // The meter's silo may be the one that died: ask again once the cluster has noticed.
            }

            if (report is not null && done(report)) return report;
            Assert.True(DateTime.UtcNow < deadline, $"The meter did not catch up: {report}");
            await Task.Delay(100, Ct);
        }
    }
}
