using Orleans.Runtime;

namespace Actors.Extensions.Tests.Streams;

/// <summary>
/// A reminder table that every in-process silo of a test cluster shares, as they would share a database: Orleans' own
/// in-memory table lives in a grain, which dies with the silo that hosts it, so a test that kills silos cannot use it.
/// </summary>
internal sealed class SharedReminderTable : IReminderTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(GrainId, string), ReminderEntry> _rows = [];
    private long _version;

    public Task<ReminderTableData> ReadRows(GrainId grainId)
    {
        lock (_lock)
        {
            return Task.FromResult(new ReminderTableData(_rows.Values.Where(row => row.GrainId == grainId).Select(Copy).ToList()));
        }
    }

    public Task<ReminderTableData> ReadRows(uint begin, uint end)
    {
        // The range is (begin, end] on the hash ring, wrapping past the top when begin >= end.
        bool InRange(uint hash) => begin < end ? hash > begin && hash <= end : hash > begin || hash <= end;
        lock (_lock)
        {
            return Task.FromResult(new ReminderTableData(_rows.Values.Where(row => InRange(row.GrainId.GetUniformHashCode())).Select(Copy).ToList()));
        }
    }

    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName)
    {
        lock (_lock)
        {
            return Task.FromResult(_rows.TryGetValue((grainId, reminderName), out var row) ? Copy(row) : null);
        }
    }

    public Task<string?> UpsertRow(ReminderEntry entry)
    {
        lock (_lock)
        {
            var stored = Copy(entry);
            stored.ETag = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _rows[(entry.GrainId, entry.ReminderName)] = stored;
            return Task.FromResult<string?>(stored.ETag);
        }
    }

    public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        lock (_lock)
        {
            return Task.FromResult(_rows.TryGetValue((grainId, reminderName), out var row) && row.ETag == eTag && _rows.Remove((grainId, reminderName)));
        }
    }

    public Task TestOnlyClearTable()
    {
        lock (_lock)
        {
            _rows.Clear();
        }

        return Task.CompletedTask;
    }

    private static ReminderEntry Copy(ReminderEntry row) => new()
    {
        GrainId = row.GrainId,
        ReminderName = row.ReminderName,
        StartAt = row.StartAt,
        Period = row.Period,
        ETag = row.ETag,
    };
}
