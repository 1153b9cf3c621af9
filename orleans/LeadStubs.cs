// TEMPORARY (lead): signatures the helpers' branches provide; deleted at merge.
using Actors.Extensions.Streams;
using Orleans.Hosting;

namespace Actors.Extensions;

public static class LeadStubs
{
    public static ISiloBuilder UsePostgresClustering(this ISiloBuilder b, string cs) => throw new NotSupportedException(cs);
    public static IClientBuilder UsePostgresClustering(this IClientBuilder b, string cs) => throw new NotSupportedException(cs);
    public static ISiloBuilder UsePostgresGrainStorageAndReminders(this ISiloBuilder b, string cs) => throw new NotSupportedException(cs);
    public static ISiloBuilder AddSqliteGrainStorageAsDefault(this ISiloBuilder b, string path) => throw new NotSupportedException(path);
    public static ISiloBuilder UseSqliteReminders(this ISiloBuilder b, string path) => throw new NotSupportedException(path);
    public static ISiloBuilder AddCallCycleDetection(this ISiloBuilder b) => b;
    public static IClientBuilder AddCallCycleDetection(this IClientBuilder b) => b;
    public static LogStreamsBuilder AddLogStreams(this ISiloBuilder b, Action<LogStreamOptions> configure) => throw new NotSupportedException();
    public static IClientBuilder AddLogStreams(this IClientBuilder b) => throw new NotSupportedException();
}

public sealed class LogStreamsBuilder
{
    public LogStreamsBuilder UseSqliteLogStore(string path) => throw new NotSupportedException(path);
    public LogStreamsBuilder UsePostgresLogStore(string cs) => throw new NotSupportedException(cs);
    public LogStreamsBuilder UseMemoryLogStore() => throw new NotSupportedException();
}
