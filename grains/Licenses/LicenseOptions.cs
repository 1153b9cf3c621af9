using System.Security.Cryptography;
using CloudDeck.GrainInterfaces.Licenses;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Licenses;

/// <summary>One tier as configured: features, named quotas (-1 unlimited) and the default device limit (-1 unlimited).</summary>
public sealed record LicenseTier(IReadOnlyList<string> Features, IReadOnlyDictionary<string, long> Quotas, int MaxDevices);

/// <summary>Settings under <c>CloudDeck:Licenses</c>. Every one has a default that works embedded.</summary>
public sealed class LicenseOptions
{
    public const string Section = "CloudDeck:Licenses";

    /// <summary>The quota that <c>POST /api/v1/licenses/consume</c> counts, per license and UTC day.</summary>
    public const string CommandsPerDay = "commands_per_day";

    /// <summary>
    /// PEM of the ECDSA P-256 private key that signs offline licenses (PKCS#8 or SEC1). Unset: generated once into
    /// <c>{DataDirectory}/licenses/license-signing.pem</c> (mode 0600); in cluster mode it must be set (the same on every process).
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>How long a machine may rely on a validation before asking again (the answer's <c>cached_until</c>).</summary>
    public TimeSpan CacheFor { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long an offline license file stays valid (never past the license's own expiry).</summary>
    public TimeSpan OfflineValidity { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often a license grain appends its buffered validations to the history stream.</summary>
    public TimeSpan HistoryFlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Validations a license grain holds for the stream at most; beyond it the oldest are dropped (and counted in the log).</summary>
    public int HistoryBufferLimit { get; set; } = 10_000;

    /// <summary>
    /// Requests per second each client address may make to the key-authenticated license routes (validate, consume,
    /// deactivate), counted by each API process; bursts up to ten times as many. 0 turns the limit off.
    /// </summary>
    public int RequestsPerSecondPerAddress { get; set; } = 100;

    /// <summary>
    /// Tiers by name (FREE, PRO, TEAM, ENT): the built-in defaults with <c>Tiers:*</c> laid over them. Not named "Tiers", so that
    /// binding the section never touches it (or <see cref="Defaults"/>); <see cref="Read"/> reads that part itself.
    /// </summary>
    public IReadOnlyDictionary<string, LicenseTier> EffectiveTiers { get; private set; } = Defaults;

    public static readonly IReadOnlyDictionary<string, LicenseTier> Defaults = new Dictionary<string, LicenseTier>(StringComparer.Ordinal)
    {
        [LicenseTiers.Free] = new(["core"], new Dictionary<string, long> { [CommandsPerDay] = 100 }, 1),
        [LicenseTiers.Pro] = new(["core", "offline"], new Dictionary<string, long> { [CommandsPerDay] = 10_000 }, 3),
        [LicenseTiers.Team] = new(["core", "offline", "sso"], new Dictionary<string, long> { [CommandsPerDay] = 100_000 }, 25),
        [LicenseTiers.Enterprise] = new(["core", "offline", "sso", "audit_export"], new Dictionary<string, long> { [CommandsPerDay] = LicenseTiers.Unlimited }, -1),
    };

    private sealed class TierSettings
    {
        public string[]? Features { get; set; }

        public Dictionary<string, long>? Quotas { get; set; }

        public int? MaxDevices { get; set; }
    }

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static LicenseOptions Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var options = new LicenseOptions();
        section.Bind(options);
        var tiers = new Dictionary<string, LicenseTier>(Defaults, StringComparer.Ordinal);
        foreach (var child in section.GetSection("Tiers").GetChildren())
        {
            var name = child.Key.ToUpperInvariant();
            if (!tiers.TryGetValue(name, out var fallback))
            {
                throw Invalid($"Tiers:{child.Key}", $"is not a tier; the tiers are {string.Join(", ", LicenseTiers.All)}");
            }

            TierSettings settings;
            try
            {
                settings = child.Get<TierSettings>() ?? new TierSettings();
            }
            catch (InvalidOperationException e)
            {
                throw Invalid($"Tiers:{child.Key}", $"could not be read ({e.Message})");
            }

            var quotas = new Dictionary<string, long>(fallback.Quotas, StringComparer.Ordinal);
            foreach (var (quota, limit) in settings.Quotas ?? []) quotas[quota] = limit;
            tiers[name] = new LicenseTier(settings.Features ?? fallback.Features, quotas, settings.MaxDevices ?? fallback.MaxDevices);
        }

        options.EffectiveTiers = tiers;
        options.Validate();
        return options;
    }

    public LicenseTier Tier(string name) => EffectiveTiers.TryGetValue(name, out var tier) ? tier : Defaults[LicenseTiers.Free];

    private void Validate()
    {
        if (SigningKey is not null)
        {
            try
            {
                using var key = LicenseSigningKey.ParsePem(SigningKey);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException or InvalidOperationException)
            {
                throw Invalid(nameof(SigningKey), "must be the PEM of an ECDSA P-256 private key (for example from `openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt`)");
            }
        }

        RequirePositive(nameof(CacheFor), CacheFor);
        RequirePositive(nameof(OfflineValidity), OfflineValidity);
        RequirePositive(nameof(HistoryFlushInterval), HistoryFlushInterval);
        if (HistoryBufferLimit < 1) throw Invalid(nameof(HistoryBufferLimit), "must be at least 1");
        if (RequestsPerSecondPerAddress < 0) throw Invalid(nameof(RequestsPerSecondPerAddress), "must be 0 (no limit) or more");
        foreach (var (name, tier) in EffectiveTiers)
        {
            if (tier.MaxDevices is 0 or < -1) throw Invalid($"Tiers:{name}:MaxDevices", "must be at least 1, or -1 for unlimited");
            foreach (var (quota, limit) in tier.Quotas)
            {
                if (limit < -1) throw Invalid($"Tiers:{name}:Quotas:{quota}", "must be 0 or more, or -1 for unlimited");
            }

            if (!tier.Quotas.ContainsKey(CommandsPerDay)) throw Invalid($"Tiers:{name}:Quotas:{CommandsPerDay}", "is required");
        }
    }

    private static void RequirePositive(string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero) throw Invalid(name, $"must be a positive time span such as 01:00:00 (was {value})");
    }

    private static InvalidOperationException Invalid(string name, string problem) => new($"{Section}:{name} {problem}.");
}
