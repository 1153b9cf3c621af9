using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Licenses;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains.Accounts;
using Microsoft.Extensions.Logging;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Grains.Licenses;

/// <summary>
/// One license. Validations and consumes are answered from memory (a storage write only when a new machine is
/// activated); each validation is buffered and appended to the license's history stream in batches by a timer,
/// off the grain's turns, so a validation never waits for storage.
/// </summary>
public sealed class LicenseGrain(
    [PersistentState("license")] IPersistentState<LicenseState> state,
    LicenseOptions options,
    LicenseSigningKey signingKey,
    ILogStreamProvider streams,
    TimeProvider clock,
    ILogger<LicenseGrain> logger) : Grain, ILicenseGrain
{
    private static readonly JsonSerializerOptions OfflineJson = new() { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    // Validations since the last flush, alike ones counted in one entry (a busy machine is one row per flush, not one per call).
    private List<PendingValidation> _buffer = [];
    private readonly Dictionary<PendingValidation, PendingValidation> _alike = new(PendingValidation.Alike);
    private (Task Task, List<PendingValidation> Batch)? _inFlight;
    private long _dropped;

    // The day's command count lives in memory (validate answers without a write) and is stored with the next state write,
    // or on graceful deactivation at the latest.
    private bool _quotaUnwritten;

    private LicenseState License => state.State;

    private string Id => this.GetPrimaryKeyString();

    private DateTimeOffset Now => clock.GetUtcNow();

    private LicenseTier Tier => options.Tier(License.Tier);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(_ =>
        {
            StartFlush();
            return Task.CompletedTask;
        }, options.HistoryFlushInterval, options.HistoryFlushInterval);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        try
        {
            await FlushHistory();
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "License {LicenseId}: {Count} validations were not appended to the history stream", Id, _buffer.Count);
        }

        if (_quotaUnwritten)
        {
            await state.WriteStateAsync(cancellationToken);
            _quotaUnwritten = false;
        }
    }

    public async Task<LicenseView> Create(string organization, IssueLicenseRequest request, int maxDevices, string secretHash, string issuedBy)
    {
        if (License.Created) throw new ConflictException("This license id is taken.");
        License.Created = true;
        License.Organization = organization;
        License.Name = request.Name;
        License.Tier = request.Tier;
        License.MaxDevices = maxDevices;
        License.ExpiresAt = request.ExpiresAt;
        License.SecretHash = secretHash;
        License.IssuedAt = Now;
        License.IssuedBy = issuedBy;
        await state.WriteStateAsync();
        return View();
    }

    public Task<LicenseView> Get()
    {
        RequireCreated();
        return Task.FromResult(View());
    }

    public async Task<LicenseView> Revoke()
    {
        RequireCreated();
        if (License.RevokedAt is null)
        {
            License.RevokedAt = Now;
            await state.WriteStateAsync();
        }

        return View();
    }

    public async Task<LicenseView> RemoveDevice(string machineId)
    {
        RequireCreated();
        if (!License.Devices.Remove(machineId)) throw new NotFoundException("That machine is not activated on this license.");
        await state.WriteStateAsync();
        return View();
    }

    public async Task<OfflineLicense> IssueOffline(string machineId)
    {
        RequireCreated();
        var now = Now;
        if (Refusal(now) is { } refusal) throw new ConflictException($"The license is {refusal.Reason}: {refusal.Detail}");
        if (!Tier.Features.Contains("offline")) throw new ForbiddenException($"The {License.Tier} tier does not include offline licenses.");
        if (!signingKey.IsAvailable) throw new InvalidOperationException(LicenseSigningKey.Unavailable);
        if (await AdmitAsync(machineId, null, now) is { } full) throw new ConflictException(full.Detail);
        var expires = now + options.OfflineValidity;
        if (License.ExpiresAt is { } licenseExpiry && licenseExpiry < expires) expires = licenseExpiry;
        var tier = Tier;
        var token = signingKey.SignJws(new OfflinePayload(
            "clouddeck", Id, License.Organization, License.Tier, tier.Features, tier.Quotas, License.MaxDevices, machineId,
            now.ToUnixTimeSeconds(), expires.ToUnixTimeSeconds(), License.ExpiresAt), OfflineJson);
        return new OfflineLicense(Id, machineId, now, expires, token);
    }

    public async Task<LicenseValidation> Validate(string secretHash, string machineId, string? version, string clientAddress)
    {
        RequireKey(secretHash);
        var now = Now;
        var refusal = Refusal(now) ?? await AdmitAsync(machineId, version, now);
        Record(new PendingValidation(machineId, version, refusal is null, refusal?.Reason, clientAddress) { FirstAt = now, LastAt = now });
        CloudDeckMetrics.LicenseValidated(refusal?.Reason ?? "valid");
        var tier = Tier;
        var cachedUntil = now;
        if (refusal is null)
        {
            cachedUntil = now + options.CacheFor;
            if (License.ExpiresAt is { } expires && expires < cachedUntil) cachedUntil = expires;
        }

        return new LicenseValidation(refusal is null, refusal?.Reason, refusal?.Detail, License.Tier, License.ExpiresAt, tier.Features, tier.Quotas,
            cachedUntil, License.MaxDevices, License.Devices.Count);
    }

    public async Task<LicenseConsumption> Consume(string secretHash, string machineId, int count, string clientAddress)
    {
        RequireKey(secretHash);
        var now = Now;
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var resetsAt = new DateTimeOffset(today.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        if (License.QuotaDay != today)
        {
            License.QuotaDay = today;
            License.QuotaUsed = 0;
        }

        var limit = Tier.Quotas[LicenseOptions.CommandsPerDay];
        var used = License.QuotaUsed;
        LicenseConsumption Answer(bool allowed, string? reason, string? detail) =>
            new(allowed, reason, detail, LicenseOptions.CommandsPerDay, limit, License.QuotaUsed,
                limit == LicenseTiers.Unlimited ? LicenseTiers.Unlimited : Math.Max(0, limit - License.QuotaUsed), resetsAt);

        if ((Refusal(now) ?? await AdmitAsync(machineId, null, now)) is { } refusal) return Answer(false, refusal.Reason, refusal.Detail);
        if (limit != LicenseTiers.Unlimited && used + count > limit)
        {
            return Answer(false, LicenseRefusals.QuotaExceeded,
                $"The {LicenseOptions.CommandsPerDay} quota is {limit}; {used} used today, so {count} more would exceed it. It resets at {resetsAt:u}.");
        }

        License.QuotaUsed = used + count;
        _quotaUnwritten = true;
        return Answer(true, null, null);
    }

    public async Task Deactivate(string secretHash, string machineId)
    {
        RequireKey(secretHash);
        if (License.Devices.Remove(machineId)) await state.WriteStateAsync();
    }

    public async Task FlushHistory()
    {
        while (true)
        {
            if (_inFlight is { } flight)
            {
                try
                {
                    await flight.Task;
                }
                catch (Exception)
                {
                    _inFlight = null;
                    Requeue(flight.Batch);
                    throw;
                }

                _inFlight = null;
            }

            if (_buffer.Count == 0) return;
            StartFlush();
        }
    }

    private sealed record Refused(string Reason, string Detail);

    private Refused? Refusal(DateTimeOffset now)
    {
        if (License.RevokedAt is { } revoked) return new(LicenseRefusals.Revoked, $"This license was revoked on {revoked:u}.");
        if (License.ExpiresAt is { } expires && expires <= now) return new(LicenseRefusals.Expired, $"This license expired on {expires:u}.");
        return null;
    }

    /// <summary>Activates a new machine when a slot is free (one write); a known machine costs no write.</summary>
    private async Task<Refused?> AdmitAsync(string machineId, string? version, DateTimeOffset now)
    {
        if (License.Devices.TryGetValue(machineId, out var device))
        {
            device.LastSeenAt = now;
            if (version is not null) device.LastVersion = version;
            return null;
        }

        if (License.MaxDevices != -1 && License.Devices.Count >= License.MaxDevices)
        {
            return new(LicenseRefusals.DeviceLimit,
                $"This license is active on {License.Devices.Count} of {License.MaxDevices} machines; deactivate one " +
                "(POST /api/v1/licenses/deactivate from that machine, or an admin) before activating another.");
        }

        License.Devices[machineId] = new DeviceRecord { ActivatedAt = now, LastSeenAt = now, LastVersion = version };
        await state.WriteStateAsync();
        return null;
    }

    private void RequireCreated()
    {
        if (!License.Created)
        {
            // Nothing to keep in memory for an id nobody issued.
            DeactivateOnIdle();
            throw new NotFoundException("License not found.");
        }
    }

    /// <summary>An unknown license and a wrong secret answer alike, so a key's id alone tells nothing.</summary>
    private void RequireKey(string secretHash)
    {
        RequireCreated();
        if (!CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(License.SecretHash.AsSpan()), MemoryMarshal.AsBytes(secretHash.AsSpan())))
        {
            throw new NotFoundException("License not found.");
        }
    }

    private void Record(PendingValidation validation)
    {
        if (_alike.TryGetValue(validation, out var same))
        {
            same.Count++;
            same.LastAt = validation.LastAt;
        }
        else if (_buffer.Count < options.HistoryBufferLimit)
        {
            _buffer.Add(validation);
            _alike[validation] = validation;
        }
        else if (_dropped++ % 1000 == 0)
        {
            // The stream is not keeping up (or is down): keep what is buffered, count what is not.
            logger.LogWarning("License {LicenseId}: the validation history buffer is full; {Dropped} validations not recorded", Id, _dropped);
        }
    }

    private void Requeue(List<PendingValidation> batch)
    {
        _buffer.InsertRange(0, batch);
        var excess = _buffer.Count - options.HistoryBufferLimit;
        if (excess > 0)
        {
            _buffer.RemoveRange(options.HistoryBufferLimit, excess);
            _dropped += excess;
        }

        _alike.Clear();
        foreach (var pending in _buffer) _alike.TryAdd(pending, pending);
    }

    /// <summary>Starts appending the buffer unless an append is in flight; one at a time keeps the history in order.</summary>
    private void StartFlush()
    {
        if (_inFlight is { } flight)
        {
            if (!flight.Task.IsCompleted) return;
            _inFlight = null;
            if (!flight.Task.IsCompletedSuccessfully)
            {
                logger.LogWarning(flight.Task.Exception?.GetBaseException(), "License {LicenseId}: appending validation history failed; retrying", Id);
                Requeue(flight.Batch);
            }
        }

        if (_buffer.Count == 0) return;
        var batch = _buffer;
        _buffer = [];
        _alike.Clear();
        LicenseValidationEvent[] items = [.. batch.Select(p => p.ToEvent())];
        var stream = streams.GetStream<LicenseValidationEvent>(LicenseStreams.History, Id);
        var usage = streams.GetStream<UsageEvent>(UsageStreams.Namespace, License.Organization);
        var validations = batch.Sum(pending => (long)pending.Count);
        var at = batch.Max(pending => pending.LastAt);
        // Off the turn: validations keep being answered while the batch is stored.
        _inFlight = (Task.Run(() => AppendHistoryAndUsageAsync(stream, items, usage, validations, at)), batch);
    }

    /// <summary>
    /// The history batch, then one usage event counting its validations for the organization's meter, named by the
    /// history position so that the same batch is never metered under two ids.
    /// </summary>
    private async Task AppendHistoryAndUsageAsync(
        ILogStream<LicenseValidationEvent> history, LicenseValidationEvent[] items, ILogStream<UsageEvent> usage, long validations, DateTimeOffset at)
    {
        var last = await history.AppendBatchAsync(items);
        await usage.AppendAsync(new UsageEvent($"license:{Id}:{last.SequenceNumber}", UsageKinds.LicenseValidations, validations, at));
    }

    private LicenseView View()
    {
        var status = License.RevokedAt is not null ? LicenseView.StatusRevoked
            : License.ExpiresAt is { } expires && expires <= Now ? LicenseView.StatusExpired
            : LicenseView.Active;
        return new LicenseView(Id, License.Organization, License.Name, License.Tier, status, License.IssuedAt, License.IssuedBy, License.ExpiresAt,
            License.RevokedAt, License.MaxDevices,
            [.. License.Devices.OrderBy(d => d.Value.ActivatedAt).ThenBy(d => d.Key, StringComparer.Ordinal).Select(d => new DeviceView(d.Key, d.Value.ActivatedAt, d.Value.LastSeenAt, d.Value.LastVersion))]);
    }

    /// <summary>A buffered history entry; equal (for <see cref="Alike"/>) when machine, version, outcome and address match.</summary>
    private sealed class PendingValidation(string machineId, string? version, bool valid, string? reason, string clientAddress)
    {
        public static readonly IEqualityComparer<PendingValidation> Alike = new AlikeComparer();

        public DateTimeOffset FirstAt { get; init; }

        public DateTimeOffset LastAt { get; set; }

        public int Count { get; set; } = 1;

        public LicenseValidationEvent ToEvent() => new(FirstAt, LastAt, Count, machineId, version, valid, reason, clientAddress);

        private sealed class AlikeComparer : IEqualityComparer<PendingValidation>
        {
            public bool Equals(PendingValidation? x, PendingValidation? y) =>
                x is not null && y is not null && x.Key == y.Key;

            public int GetHashCode(PendingValidation obj) => obj.Key.GetHashCode();
        }

        private (string, string?, bool, string?, string) Key => (machineId, version, valid, reason, clientAddress);
    }

    private sealed record OfflinePayload(
        [property: JsonPropertyName("iss")] string Issuer,
        [property: JsonPropertyName("sub")] string LicenseId,
        [property: JsonPropertyName("org")] string Organization,
        [property: JsonPropertyName("tier")] string Tier,
        [property: JsonPropertyName("features")] IReadOnlyList<string> Features,
        [property: JsonPropertyName("quotas")] IReadOnlyDictionary<string, long> Quotas,
        [property: JsonPropertyName("max_devices")] int MaxDevices,
        [property: JsonPropertyName("machine_id")] string MachineId,
        [property: JsonPropertyName("iat")] long IssuedAt,
        [property: JsonPropertyName("exp")] long ExpiresAt,
        [property: JsonPropertyName("license_expires_at")] DateTimeOffset? LicenseExpiresAt);
}
