using System.Globalization;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains.Organizations;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Artifacts;

/// <summary>The collection pass (a reminder runs it), the first pass's look at older deployments, and storage usage.</summary>
public sealed partial class OrganizationStorageGrain
{
    public const string CollectionReminder = "storage-collection";

    private bool _reminderChecked;

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != CollectionReminder) return;
        await Collect();
        if (Storage.Contents.Count == 0 && Storage.Deployments.Count == 0 && Storage.PendingUsage.Count == 0 && Storage.AccruedByteHours < 1)
        {
            // Nothing held: the next Hold or Reference registers it again.
            if (await this.GetReminder(CollectionReminder) is { } reminder) await this.UnregisterReminder(reminder);
            _reminderChecked = false;
        }
    }

    public async Task<StorageCollection> Collect()
    {
        if (artifacts is not { } store) return new StorageCollection(0, 0, 0, 0);
        if (!Storage.DeploymentsScanned) await ScanDeploymentsAsync();
        var now = Now;
        Accrue(now);

        // Grants on disk the record does not know: a build's output whose deployment never took it, or a crash between
        // a grant and its record. Counted from now, and let go after the grace period like any unreferenced content.
        var adopted = 0;
        foreach (var sha256 in store.GrantsOf(Organization).ToList())
        {
            if (Storage.Contents.ContainsKey(sha256)) continue;
            if (store.SizeOf(sha256) is not { } size)
            {
                store.Revoke(Organization, sha256);
                continue;
            }

            Storage.Contents[sha256] = new StoredContentRecord { Size = size, UnreferencedSince = now };
            _bytes += size;
            adopted++;
        }

        var expired = Storage.Contents
            .Where(c => c.Value.References == 0 && c.Value.UnreferencedSince is { } since && now - since >= _options.UnreferencedGracePeriod)
            .ToList();
        long released = 0;
        foreach (var (sha256, record) in expired)
        {
            Storage.Contents.Remove(sha256);
            released += record.Size;
        }

        _bytes -= released;
        FlushAccrual(now);
        await WriteAsync();

        // After the record is written: a crash here leaves grants the next pass adopts and lets go again.
        var deleted = 0;
        foreach (var (sha256, _) in expired)
        {
            store.Revoke(Organization, sha256);
            if (store.DeleteIfHeldByNone(sha256)) deleted++;
        }

        await SendPendingUsageAsync();
        if (expired.Count > 0 || adopted > 0)
        {
            LogCollected(logger, Organization, expired.Count, released, deleted, adopted);
        }

        return new StorageCollection(expired.Count, released, deleted, adopted);
    }

    /// <summary>
    /// Once per organization: asks each live deployment stored before storage was counted what it references, so the
    /// first pass lets none of their files go. Deployments answer with interleaving reads, so this never waits on a
    /// deployment that is itself waiting on this grain.
    /// </summary>
    private async Task ScanDeploymentsAsync()
    {
        var store = Store;
        var now = Now;
        Accrue(now);
        foreach (var project in await GrainFactory.GetGrain<IProjectIndexGrain>(Organization).ProjectNames())
        {
            foreach (var id in await GrainFactory.GetGrain<IProjectGrain>(ProjectKeys.Of(Organization, project)).LiveDeploymentIds())
            {
                if (Storage.Deployments.ContainsKey(id)) continue;
                var held = await GrainFactory.GetGrain<IDeploymentGrain>(id).HeldContents();
                if (held.Count == 0) continue;
                foreach (var sha256 in held.Distinct(StringComparer.Ordinal))
                {
                    if (!Storage.Contents.TryGetValue(sha256, out var record))
                    {
                        Storage.Contents[sha256] = record = new StoredContentRecord { Size = store.SizeOf(sha256) ?? 0 };
                        _bytes += record.Size;
                    }

                    record.References++;
                    record.UnreferencedSince = null;
                }

                Storage.Deployments[id] = Fingerprint(held);
                await store.GrantAsync(Organization, held, CancellationToken.None);
            }
        }

        Storage.DeploymentsScanned = true;
        await WriteAsync();
    }

    private async Task EnsureReminderAsync()
    {
        if (_reminderChecked) return;
        // Registered once, not again per activation: re-registering would push the next pass back each time.
        if (await this.GetReminder(CollectionReminder) is null)
        {
            await this.RegisterOrUpdateReminder(CollectionReminder, _options.CollectionInterval, _options.CollectionInterval);
        }

        _reminderChecked = true;
    }

    /// <summary>
    /// Adds the bytes held since the last change times the hours they were held. A month ends its part: what was stored
    /// in it is reported in it, whenever the next pass runs.
    /// </summary>
    private void Accrue(DateTimeOffset now)
    {
        if (Storage.AccruedSince is not { } since || now <= since)
        {
            Storage.AccruedSince ??= now;
            return;
        }

        while (true)
        {
            var monthEnd = QuotaPeriods.Start(QuotaKinds.PerMonth, since).AddMonths(1);
            var until = now < monthEnd ? now : monthEnd;
            Storage.AccruedByteHours += _bytes * (decimal)(until - since).TotalHours;
            if (until == now) break;
            FlushAccrual(monthEnd.AddTicks(-1));
            since = monthEnd;
        }

        Storage.AccruedSince = now;
    }

    /// <summary>Turns the whole byte-hours counted into a usage event, kept in the state until it is on the usage stream.</summary>
    private void FlushAccrual(DateTimeOffset at)
    {
        var whole = decimal.Floor(Storage.AccruedByteHours);
        if (whole < 1) return;
        Storage.AccruedByteHours -= whole;
        Storage.PendingUsage.Add(new PendingStorageUsage
        {
            Id = "storage:" + at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), ByteHours = (long)whole, Time = at,
        });
    }

    private async Task SendPendingUsageAsync()
    {
        if (Storage.PendingUsage.Count == 0) return;
        var stream = streams.GetStream<UsageEvent>(UsageStreams.Namespace, Organization);
        foreach (var usage in Storage.PendingUsage)
        {
            await stream.AppendAsync(new UsageEvent(usage.Id, UsageKinds.StorageByteHours, usage.ByteHours, usage.Time));
        }

        // Cleared in memory; the next write stores it. Sent again after a crash, the meter counts each id once.
        Storage.PendingUsage.Clear();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage of {Organization}: {Removed} unreferenced content(s) let go ({Bytes} bytes, {Deleted} deleted from disk), {Adopted} grant(s) found and counted")]
    private static partial void LogCollected(ILogger logger, string organization, int removed, long bytes, int deleted, int adopted);
}
