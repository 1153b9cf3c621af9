using Microsoft.Extensions.DependencyInjection;
using Orleans.Metadata;

namespace Actors.Extensions.Streams;

/// <summary>
/// Implicit consumers: each grain type marked with <see cref="ImplicitLogConsumerAttribute"/> for the namespace gets every entry,
/// in order, at least once, with a cursor stored after each acknowledged batch. While a consumer lags, an Orleans reminder keeps
/// the stream alive across crashes: it reactivates the stream on whichever silo owns it, and delivery resumes from the cursor.
/// </summary>
internal sealed partial class LogStreamGrain
{
    private const string DeliveryReminder = "actors.log.delivery";
    private static readonly TimeSpan LongestDeliveryBackoff = TimeSpan.FromSeconds(30);

    private readonly Dictionary<GrainType, long> _cursors = [];
    private readonly HashSet<GrainType> _delivering = [];
    private GrainType[] _consumers = [];
    private bool _reminderRegistered;
    private bool _remindersUnavailable;

    private async Task LoadImplicitConsumersAsync(CancellationToken cancellationToken)
    {
        _consumers = ConsumersOf(ServiceProvider.GetRequiredService<IClusterManifestProvider>().Current, _id.Namespace);
        if (_consumers.Length == 0)
        {
            return;
        }

        var stored = await _store.ReadCursorsAsync(_serviceId, _id, cancellationToken);
        foreach (var consumer in _consumers)
        {
            _cursors[consumer] = stored.GetValueOrDefault(consumer.ToString(), _first - 1);
        }

        if (Lagging())
        {
            // Reactivated by the reminder, or by any call, after a crash: go on where the cursors stopped.
            await EnsureReminderAsync();
            StartDeliveries();
        }
    }

    private static GrainType[] ConsumersOf(ClusterManifest manifest, string @namespace)
    {
        var property = ImplicitLogConsumerAttribute.PropertyPrefix + @namespace;
        return manifest.AllGrainManifests
            .SelectMany(grains => grains.Grains)
            .Where(grain => grain.Value.Properties.ContainsKey(property))
            .Select(grain => grain.Key)
            .Distinct()
            .OrderBy(type => type.ToString(), StringComparer.Ordinal)
            .ToArray();
    }

    private bool Lagging() => _consumers.Any(consumer => _cursors[consumer] < _last);

    private long OldestUnacknowledged() =>
        _consumers.Length == 0 ? long.MaxValue : _consumers.Min(consumer => _cursors[consumer]) + 1;

    private void OnEntriesStored()
    {
        if (_consumers.Length == 0)
        {
            return;
        }

        if (!_reminderRegistered)
        {
            _ = EnsureReminderAsync();
        }

        StartDeliveries();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        StartDeliveries();
        if (_delivering.Count > 0 || Lagging())
        {
            return;
        }

        // Everything acknowledged: the stream no longer needs waking.
        _reminderRegistered = false;
        if (await this.GetReminder(DeliveryReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        // An append during the unregister may have registered it just before it was removed: register again (an upsert).
        if (Lagging())
        {
            _reminderRegistered = false;
            await EnsureReminderAsync();
        }
    }

    private async Task EnsureReminderAsync()
    {
        if (_reminderRegistered || _remindersUnavailable)
        {
            return;
        }

        _reminderRegistered = true;
        try
        {
            await this.RegisterOrUpdateReminder(DeliveryReminder, _options.ConsumerReminderPeriod, _options.ConsumerReminderPeriod);
        }
        catch (Exception exception) when (exception is InvalidOperationException or OrleansException)
        {
            // No reminder service on this silo: delivery still runs while the stream is active, but not across a crash.
            _remindersUnavailable = true;
            LogStreamLog.NoReminders(_logger, exception, _id);
        }
        catch (Exception exception)
        {
            _reminderRegistered = false;
            LogStreamLog.ReminderFailed(_logger, exception, _id);
        }
    }

    private void StartDeliveries()
    {
        foreach (var consumer in _consumers)
        {
            if (!_retired && _cursors[consumer] < _last && _delivering.Add(consumer))
            {
                _ = DeliverAsync(consumer);
            }
        }
    }

    private async Task DeliverAsync(GrainType consumer)
    {
        RequestContext.Clear(); // Started by whichever append stored the entries; not part of that call.
        var target = GrainFactory.GetGrain<ILogConsumerGrain>(GrainId.Create(consumer, _id.Key));
        var backoff = TimeSpan.FromMilliseconds(100);
        try
        {
            while (!_retired && !_deactivating && _cursors[consumer] < _last)
            {
                LogRecord[] records;
                try
                {
                    records = await RecordsAsync(Math.Max(_cursors[consumer] + 1, _first), _options.MaxReadBatch);
                    if (records.Length == 0)
                    {
                        return;
                    }

                    await target.DeliverLogEntries(new LogDelivery(_id, records));
                }
                catch (Exception exception)
                {
                    if (_retired || _deactivating)
                    {
                        return; // The next activation resumes from the stored cursor.
                    }

                    LogStreamLog.DeliveryFailed(_logger, exception, _id, consumer.ToString(), backoff);
                    await Task.Delay(backoff);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, LongestDeliveryBackoff.Ticks));
                    continue;
                }

                backoff = TimeSpan.FromMilliseconds(100);
                _cursors[consumer] = records[^1].Seq;
                try
                {
                    await _store.WriteCursorAsync(_serviceId, _id, consumer.ToString(), records[^1].Seq, CancellationToken.None);
                }
                catch (Exception exception)
                {
                    // At least once: a lost cursor write only means the batch may come again after a crash.
                    LogStreamLog.CursorWriteFailed(_logger, exception, _id, consumer.ToString());
                }
            }
        }
        finally
        {
            _delivering.Remove(consumer);
        }
    }
}
