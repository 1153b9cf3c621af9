using System.Text.Json;

namespace Actors.Runtime;

/// <summary>Settings of one silo's runtime. Defaults follow Orleans' where Orleans has one.</summary>
public sealed class ActorRuntimeOptions
{
    /// <summary>Separates the rows of different deployments that share one database.</summary>
    public string ServiceId { get; set; } = "default";

    /// <summary>How long a caller waits for an answer before it gets a TimeoutException.</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an activation may stay idle before it is collected.</summary>
    public TimeSpan CollectionAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often the collector looks for idle activations.</summary>
    public TimeSpan CollectionQuantum { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Per grain type name; a [CollectionAgeLimit] on the class wins over this.</summary>
    public Dictionary<string, TimeSpan> CollectionAgeByGrainType { get; } = new(StringComparer.Ordinal);

    public TimeSpan ActivationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan DeactivationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a graceful stop waits for all activations to deactivate.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// On deactivation (idle collection, DeactivateOnIdle, shutdown), write every persistent state whose
    /// serialized form differs from what was last read or written, so a graceful stop loses nothing.
    /// </summary>
    public bool WriteChangedStateOnDeactivation { get; set; } = true;

    /// <summary>Serializer for persisted state.</summary>
    public JsonSerializerOptions SerializerOptions { get; set; } = new(JsonSerializerDefaults.Web);

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ServiceId))
        {
            throw new InvalidOperationException("ActorRuntimeOptions.ServiceId must be set.");
        }

        foreach (var (name, value) in new[]
                 {
                     (nameof(ResponseTimeout), ResponseTimeout), (nameof(CollectionAge), CollectionAge),
                     (nameof(CollectionQuantum), CollectionQuantum), (nameof(ActivationTimeout), ActivationTimeout),
                     (nameof(DeactivationTimeout), DeactivationTimeout), (nameof(ShutdownTimeout), ShutdownTimeout),
                 })
        {
            if (value <= TimeSpan.Zero)
            {
                throw new InvalidOperationException($"ActorRuntimeOptions.{name} must be positive (was {value}).");
            }
        }
    }
}

public sealed class ReminderOptions
{
    /// <summary>Orleans refuses periods under one minute; tests lower this.</summary>
    public TimeSpan MinimumPeriod { get; set; } = TimeSpan.FromMinutes(1);
}
