using System.Globalization;
using System.Text.RegularExpressions;

namespace CloudDeck.GrainInterfaces.Usage;

/// <summary>
/// One metered action, as it rides on the organization's usage stream (<see cref="UsageStreams.Namespace"/>, org slug).
/// <paramref name="Id"/> is the idempotency id: the meter counts an id once per billing period, however often it arrives.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.UsageEvent")]
public sealed record UsageEvent(string Id, string Kind, long Quantity, DateTimeOffset Time);

public static class UsageStreams
{
    /// <summary>The stream namespace; the key is the organization's slug.</summary>
    public const string Namespace = "usage";
}

/// <summary>What is metered. SDKs may also report kinds of their own that match <see cref="Pattern"/>.</summary>
public static partial class UsageKinds
{
    /// <summary>Minutes a build ran, rounded up per build; reported when it finishes.</summary>
    public const string BuildMinutes = "build_minutes";

    /// <summary>Deployments created (with the deployments issue).</summary>
    public const string DeploymentsCreated = "deployments_created";

    /// <summary>Bytes the edge served for the organization's deployments (with the edge issue).</summary>
    public const string EdgeBytesServed = "edge_bytes_served";

    /// <summary>License validations answered, from the license grains' history flushes.</summary>
    public const string LicenseValidations = "license_validations";

    /// <summary>API requests (usage ingest batches count themselves here).</summary>
    public const string ApiRequests = "api_requests";

    /// <summary>
    /// Bytes the organization stores (what its storage quota counts) times the hours it stored them, reported by its
    /// storage grain at each collection pass; a period's total divided by 10^9 and the period's hours is its GB-months.
    /// </summary>
    public const string StorageByteHours = "storage_byte_hours";

    public static readonly IReadOnlyList<string> BuiltIn = [BuildMinutes, DeploymentsCreated, EdgeBytesServed, LicenseValidations, ApiRequests, StorageByteHours];

    public static bool IsValid(string? kind) => kind is not null && Pattern().IsMatch(kind);

    /// <summary>1–64 characters: a lowercase letter, then lowercase letters, digits, '_', '.' or '-'.</summary>
    [GeneratedRegex("^[a-z][a-z0-9_.-]{0,63}$")]
    public static partial Regex Pattern();
}

/// <summary>Billing periods are UTC calendar months, named <c>YYYY-MM</c>.</summary>
public static class BillingPeriods
{
    public const string Format = "yyyy-MM";

    public static string Of(DateTimeOffset time) => time.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture);

    public static string DayOf(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static bool TryParse(string? period, out DateTimeOffset start)
    {
        var parsed = DateTime.TryParseExact(period, Format, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var month);
        start = parsed ? new DateTimeOffset(month.Year, month.Month, 1, 0, 0, 0, TimeSpan.Zero) : default;
        // The period's end (a month later) must be a date too: 9999-12 would end past the calendar.
        return parsed && month.Year is >= 2000 and <= 9998;
    }
}

/// <summary>A period's usage: totals per kind, and each day of the period (through today for the current one).</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.UsageReport")]
public sealed record UsageReport(
    string Organization,
    string Period,
    IReadOnlyDictionary<string, long> Totals,
    IReadOnlyList<UsageDay> Days,
    long Events,
    long DuplicatesIgnored);

[GenerateSerializer, Immutable, Alias("clouddeck.UsageDay")]
public sealed record UsageDay(string Date, IReadOnlyDictionary<string, long> Totals);

/// <summary>An accepted ingest batch: how many events, and the stream position of the last.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.UsageIngestResult")]
public sealed record UsageIngestResult(string Organization, int Accepted, long LastSequence);

/// <summary>What billing reads from an organization's meter: its stream position and every retained period's totals.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.UsageTotalsSnapshot")]
public sealed record UsageTotalsSnapshot(
    [property: Id(0)] long Sequence,
    [property: Id(1)] IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> TotalsByPeriod);
