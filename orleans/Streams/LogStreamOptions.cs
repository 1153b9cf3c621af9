using Microsoft.Extensions.Options;

namespace Actors.Extensions.Streams;

/// <summary>Retention of one namespace: items older than <see cref="MaxAge"/> or beyond the newest <see cref="MaxCount"/> are deleted.</summary>
public sealed record LogRetention(TimeSpan? MaxAge = null, long? MaxCount = null);

/// <summary>How log streams behave. The product binds it from <c>CloudDeck:Streams</c>; every default works in embedded mode.</summary>
public sealed class LogStreamOptions
{
    /// <summary>Recent items each stream keeps in memory, so followers at the head never read storage.</summary>
    public int CacheSize { get; set; } = 4096;

    /// <summary>The most items one read (or one delivery to an implicit consumer) carries.</summary>
    public int MaxReadBatch { get; set; } = 1000;

    /// <summary>Items a subscriber holds that its observer has not taken yet; beyond it, reading pauses (the producer never waits).</summary>
    public int SubscriberBuffer { get; set; } = 1024;

    /// <summary>
    /// How long a read at the head of the stream waits for new items before answering empty. Kept well under Orleans'
    /// response timeout; a deactivating stream answers its waiting readers at once.
    /// </summary>
    public TimeSpan LiveWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often age-based retention runs on each silo.</summary>
    public TimeSpan RetentionSweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Period of the reminder that keeps a stream with lagging implicit consumers alive across crashes. Orleans refuses
    /// reminders under its ReminderOptions.MinimumReminderPeriod (1 minute by default).
    /// </summary>
    public TimeSpan ConsumerReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Per namespace; streams of namespaces not listed keep everything.</summary>
    public Dictionary<string, LogRetention> Retention { get; } = new(StringComparer.Ordinal);

    internal LogRetention? RetentionOf(string @namespace) => Retention.GetValueOrDefault(@namespace);
}

/// <summary>Checks <see cref="LogStreamOptions"/> at start, naming the setting (under CloudDeck:Streams) and an example value.</summary>
internal sealed class LogStreamOptionsValidator : IValidateOptions<LogStreamOptions>
{
    public ValidateOptionsResult Validate(string? name, LogStreamOptions options)
    {
        var failures = new List<string>();
        if (options.CacheSize < 1)
        {
            failures.Add($"CloudDeck:Streams:CacheSize must be at least 1 (for example 4096); it is {options.CacheSize}.");
        }

        if (options.MaxReadBatch < 1)
        {
            failures.Add($"CloudDeck:Streams:MaxReadBatch must be at least 1 (for example 1000); it is {options.MaxReadBatch}.");
        }

        if (options.SubscriberBuffer < 1)
        {
            failures.Add($"CloudDeck:Streams:SubscriberBuffer must be at least 1 (for example 1024); it is {options.SubscriberBuffer}.");
        }

        if (options.LiveWait <= TimeSpan.Zero || options.LiveWait > TimeSpan.FromMinutes(1))
        {
            failures.Add($"CloudDeck:Streams:LiveWait must be between 0 and 1 minute (for example \"00:00:10\"); it is {options.LiveWait}.");
        }

        if (options.RetentionSweepInterval <= TimeSpan.Zero)
        {
            failures.Add($"CloudDeck:Streams:RetentionSweepInterval must be positive (for example \"00:01:00\"); it is {options.RetentionSweepInterval}.");
        }

        if (options.ConsumerReminderPeriod <= TimeSpan.Zero)
        {
            failures.Add($"CloudDeck:Streams:ConsumerReminderPeriod must be positive (for example \"00:01:00\"); it is {options.ConsumerReminderPeriod}.");
        }

        foreach (var (ns, retention) in options.Retention)
        {
            if (retention.MaxAge is { } age && age <= TimeSpan.Zero)
            {
                failures.Add($"CloudDeck:Streams:Retention:{ns}:MaxAge must be positive (for example \"7.00:00:00\"); it is {age}.");
            }

            if (retention.MaxCount is { } count && count < 1)
            {
                failures.Add($"CloudDeck:Streams:Retention:{ns}:MaxCount must be at least 1 (for example 100000); it is {count}.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
