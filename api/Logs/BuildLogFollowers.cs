using System.Collections.Concurrent;
using System.Security.Claims;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using Microsoft.AspNetCore.SignalR;

namespace CloudDeck.Api.Logs;

/// <summary>A connection asked to follow more builds than <see cref="BuildLogOptions.MaxBuildsPerConnection"/>.</summary>
public sealed class TooManyFollowsException(string message) : Exception(message);

/// <summary>
/// The hub's stream subscriptions, by connection and build. Hubs are created per call, so what outlives a call lives
/// here; <see cref="LogsHub.OnDisconnectedAsync"/> disposes a connection's subscriptions. Each follow watches its caller's
/// access (<see cref="LogAccess"/>) and ends with an <c>error</c> message when it ends.
/// </summary>
public sealed class BuildLogFollowers(IHubContext<LogsHub> hub, BuildLogSource source, LogAccess access, BuildLogOptions options,
    ILogger<BuildLogFollowers> logger)
{
    private readonly ConcurrentDictionary<string, ConnectionFollows> _connections = new(StringComparer.Ordinal);
    private readonly IHubContext<LogsHub> _hub = hub;
    private readonly BuildLogSource _source = source;
    private readonly LogAccess _access = access;
    private readonly ILogger _logger = logger;

    /// <summary>Starts (or restarts, from a new line) sending the log to the connection.</summary>
    public async Task FollowAsync(string connectionId, ClaimsPrincipal user, Caller caller, OpenedBuildLog opened, long from)
    {
        var connection = _connections.GetOrAdd(connectionId, _ => new ConnectionFollows());
        await connection.Gate.WaitAsync();
        try
        {
            if (connection.Closed) return; // the connection went away while this call ran
            var buildId = opened.Build.Id;
            if (connection.Builds.Remove(buildId, out var previous))
            {
                await previous.StopAsync();
            }
            else if (connection.Builds.Count >= options.MaxBuildsPerConnection)
            {
                throw new TooManyFollowsException(
                    $"A connection follows at most {options.MaxBuildsPerConnection} builds at once; leave one (LeaveBuild) first.");
            }

            var follower = new Follower(this, connectionId, buildId, user, caller);
            connection.Builds[buildId] = follower;
            try
            {
                await follower.StartAsync(opened.Log, from);
            }
            catch
            {
                connection.Builds.Remove(buildId);
                throw;
            }
        }
        finally
        {
            connection.Gate.Release();
        }
    }

    public async Task UnfollowAsync(string connectionId, string buildId)
    {
        if (!_connections.TryGetValue(connectionId, out var connection)) return;
        await connection.Gate.WaitAsync();
        try
        {
            if (connection.Builds.Remove(buildId, out var follower)) await follower.StopAsync();
        }
        finally
        {
            connection.Gate.Release();
        }
    }

    public async Task UnfollowAllAsync(string connectionId)
    {
        if (!_connections.TryRemove(connectionId, out var connection)) return;
        await connection.Gate.WaitAsync();
        try
        {
            connection.Closed = true;
            foreach (var follower in connection.Builds.Values) await follower.StopAsync();
            connection.Builds.Clear();
        }
        finally
        {
            connection.Gate.Release();
        }
    }

    /// <summary>Subscriptions currently open, for tests and diagnostics.</summary>
    public int Count => _connections.Values.Sum(c => c.Builds.Count);

    /// <summary>Called by a follower whose log ended: forget it without waiting on its own subscription.</summary>
    private void Forget(string connectionId, Follower follower)
    {
        if (!_connections.TryGetValue(connectionId, out var connection)) return;
        _ = Task.Run(async () =>
        {
            await connection.Gate.WaitAsync();
            try
            {
                if (connection.Builds.TryGetValue(follower.BuildId, out var current) && current == follower)
                {
                    connection.Builds.Remove(follower.BuildId);
                }
            }
            finally
            {
                connection.Gate.Release();
            }

            await follower.StopAsync();
        });
    }

    private sealed class ConnectionFollows
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public Dictionary<string, Follower> Builds { get; } = new(StringComparer.Ordinal);

        public bool Closed { get; set; }
    }

    /// <summary>
    /// One connection following one build: the stream calls it one batch at a time, and it sends each line as a
    /// message and awaits it, so the connection's own backpressure paces the subscription.
    /// </summary>
    private sealed class Follower(BuildLogFollowers owner, string connectionId, string buildId, ClaimsPrincipal user, Caller caller)
        : ILogObserver<BuildLogLine>
    {
        /// <summary>How long the last message to a client whose access ended may wait on a slow connection.</summary>
        private static readonly TimeSpan ErrorSendLimit = TimeSpan.FromSeconds(10);

        private readonly CancellationTokenSource _stop = new();
        private LogSubscription? _subscription;
        private int _stopped;

        public string BuildId => buildId;

        private IClientProxy Client => owner._hub.Clients.Client(connectionId);

        public async Task StartAsync(ILogStream<BuildLogLine> log, long from)
        {
            _subscription = await log.SubscribeAsync(this, new LogPosition(from));
            _ = WatchAccessAsync();
        }

        /// <summary>Ends this follow, telling the client why, once the caller may no longer read the build's log.</summary>
        private async Task WatchAccessAsync()
        {
            string reason;
            try
            {
                reason = await owner._access.WaitUntilEndedAsync(user, caller, reader => owner._source.StatusAsync(reader, buildId), buildId, _stop.Token);
            }
            catch (OperationCanceledException) when (_stopped != 0)
            {
                return; // the follow ended first
            }

            // Stopped first, so no line follows the error (a line being sent now goes before it: a connection's sends are in order).
            if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
            try
            {
                using var patience = new CancellationTokenSource(ErrorSendLimit);
                await Client.SendAsync(BuildLogMessageNames.Error, new BuildLogErrorMessage(buildId, reason), patience.Token);
            }
            catch (Exception e)
            {
                owner._logger.LogInformation(e, "Build {BuildId}: the end of access could not be told to connection {ConnectionId}", buildId, connectionId);
            }
            finally
            {
                await _stop.CancelAsync();
                if (_subscription is not null) await _subscription.DisposeAsync();
                owner.Forget(connectionId, this);
            }
        }

        public async Task StopAsync()
        {
            if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
            await _stop.CancelAsync();
            // Not disposed: a send still running may read its token.
            if (_subscription is not null) await _subscription.DisposeAsync();
        }

        public Task OnNextAsync(BuildLogLine item, LogPosition token) => OnNextBatchAsync([new LogItem<BuildLogLine>(item, token)]);

        public async Task OnNextBatchAsync(IReadOnlyList<LogItem<BuildLogLine>> items)
        {
            try
            {
                foreach (var item in items)
                {
                    if (_stopped != 0) return;
                    await Client.SendAsync(BuildLogMessageNames.Line, BuildLogLineMessage.From(buildId, item), _stop.Token);
                }
            }
            catch (OperationCanceledException) when (_stopped != 0)
            {
                // Left or disconnected while sending: nothing more is owed to this connection.
            }
        }

        public async Task OnCompletedAsync()
        {
            if (_stopped != 0) return;
            try
            {
                var status = await owner._source.StatusAsync(caller, buildId);
                await Client.SendAsync(BuildLogMessageNames.Completed, new BuildLogCompletedMessage(buildId, status), _stop.Token);
            }
            catch (NotFoundException e)
            {
                await SendErrorAsync(e.Message);
            }
            catch (OperationCanceledException) when (_stopped != 0)
            {
            }
            finally
            {
                owner.Forget(connectionId, this);
            }
        }

        public async Task OnErrorAsync(Exception error)
        {
            owner._logger.LogWarning(error, "Following the log of build {BuildId} on connection {ConnectionId} failed", buildId, connectionId);
            await SendErrorAsync("Following this log failed; join again from the next line to resume.");
            owner.Forget(connectionId, this);
        }

        private async Task SendErrorAsync(string message)
        {
            if (_stopped != 0) return;
            try
            {
                await Client.SendAsync(BuildLogMessageNames.Error, new BuildLogErrorMessage(buildId, message), _stop.Token);
            }
            catch (OperationCanceledException) when (_stopped != 0)
            {
            }
        }
    }
}
