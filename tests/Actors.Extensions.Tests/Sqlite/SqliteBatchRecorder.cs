using System.Diagnostics.Metrics;

namespace Actors.Extensions.Tests.Sqlite;

/// <summary>Listens to the storage's commit-size histogram for one database file: how many commits carried how many writes.</summary>
public sealed class SqliteBatchRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly string _databasePath;
    private int _commits;
    private int _writes;
    private int _largest;

    public SqliteBatchRecorder(string databasePath)
    {
        _databasePath = Path.GetFullPath(databasePath);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Actors.Extensions.Sqlite" && instrument.Name == "sqlite.group_commit.writes")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>(OnMeasurement);
        _listener.Start();
    }

    public int Commits => Volatile.Read(ref _commits);

    public int Writes => Volatile.Read(ref _writes);

    public int LargestBatch => Volatile.Read(ref _largest);

    private void OnMeasurement(Instrument instrument, int writes, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "database" && Equals(tag.Value, _databasePath))
            {
                Interlocked.Increment(ref _commits);
                Interlocked.Add(ref _writes, writes);
                int largest;
                while (writes > (largest = Volatile.Read(ref _largest)) && Interlocked.CompareExchange(ref _largest, writes, largest) != largest)
                {
                }
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
