using System.Collections.Concurrent;
using Actors.Runtime;

namespace Actors.Runtime.Tests.Grains;

public sealed class TimerGrain : Grain, ITimerGrain
{
    private int _ticks;
    private int _overlaps;
    private bool _inTick;

    public Task<bool> TickInProgress() => Task.FromResult(_inTick);

    public Task Start(int periodMs, int callbackMs, bool interleave)
    {
        RegisterGrainTimer(async _ =>
        {
            if (_inTick)
            {
                _overlaps++;
            }

            _inTick = true;
            await Task.Delay(callbackMs);
            _ticks++;
            _inTick = false;
        }, TimeSpan.FromMilliseconds(periodMs), TimeSpan.FromMilliseconds(periodMs), new GrainTimerOptions { KeepAlive = true, Interleave = interleave });
        return Task.CompletedTask;
    }

    public Task<TimerReport> Report() => Task.FromResult(new TimerReport(_ticks, _overlaps));
}

/// <summary>Reminder ticks per grain key, counted in process memory so a silo restart does not reset them.</summary>
public static class ReminderLog
{
    public static ConcurrentDictionary<string, int> Ticks { get; } = new();
}

public sealed class ReminderGrain : Grain, IReminderGrain
{
    public Task Register(string name, int dueMs, int periodMs) =>
        RegisterOrUpdateReminder(name, TimeSpan.FromMilliseconds(dueMs), TimeSpan.FromMilliseconds(periodMs));

    public Task Unregister(string name) => UnregisterReminder(name);

    public Task<int> Ticks() => Task.FromResult(ReminderLog.Ticks.GetValueOrDefault(GetPrimaryKeyString()));

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        ReminderLog.Ticks.AddOrUpdate(GetPrimaryKeyString(), 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }
}
