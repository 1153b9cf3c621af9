using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

/// <summary>
/// Moves grain calls between processes: listens for silos and clients, keeps one multiplexed connection per
/// peer endpoint, matches answers to calls by correlation id, and fails the calls of a connection that dies
/// (their outcome is unknown: at most once, as in Orleans).
/// </summary>
internal sealed partial class MessageCenter : IAsyncDisposable
{
    private readonly GrainRuntime _runtime;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Task<Connection>> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, PendingCall> _pending = new();
    private readonly ConcurrentDictionary<long, TaskCompletionSource<bool>> _pings = new();
    private readonly List<TcpListener> _listeners = [];
    private readonly CancellationTokenSource _stopping = new();
    private long _nextCorrelationId;

    public MessageCenter(GrainRuntime runtime, string selfId, ILogger logger)
    {
        _runtime = runtime;
        SelfId = selfId;
        _logger = logger;
        Wire = new WireFormat(runtime, runtime.Registry.DeclaresGrainInterfaces);
        runtime.Timeouts.AddScan(FailExpired);
    }

    /// <summary>"silo/host:port@generation" or "client/…": sent in every hello.</summary>
    public string SelfId { get; set; }

    public WireFormat Wire { get; }

    public event Action? GossipReceived;

    /// <summary>Starts listening; returns the port actually bound (useful with port 0).</summary>
    public int Listen(IPAddress address, int port)
    {
        var listener = new TcpListener(address, port);
        listener.Start(512);
        _listeners.Add(listener);
        _ = AcceptLoopAsync(listener);
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task AcceptLoopAsync(TcpListener listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException exception)
            {
                _logger.LogWarning(exception, "Accepting a connection failed");
                continue;
            }

            var connection = new Connection(socket, OnMessageAsync);
            _ = connection.Closed.ContinueWith(_ => OnClosed(connection), TaskScheduler.Default);
            connection.Start();
        }
    }

    private async Task<Connection> ConnectAsync(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await socket.ConnectAsync(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), timeout.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new Connection(socket, OnMessageAsync) { Peer = endpoint };
        _ = connection.Closed.ContinueWith(_ => OnClosed(connection, endpoint), TaskScheduler.Default);
        connection.Start();
        connection.Send(new Message { Kind = MessageKind.Hello, Sender = SelfId });
        return connection;
    }

    /// <summary>The connection to <paramref name="endpoint"/>, dialling it once if needed.</summary>
    private async Task<Connection> GetConnectionAsync(string endpoint)
    {
        while (true)
        {
            var task = _connections.GetOrAdd(endpoint, ConnectAsync);
            Connection connection;
            try
            {
                connection = await task;
            }
            catch
            {
                _connections.TryRemove(KeyValuePair.Create(endpoint, task));
                throw;
            }

            if (!connection.IsClosed)
            {
                return connection;
            }

            _connections.TryRemove(KeyValuePair.Create(endpoint, task));
        }
    }

    private void OnClosed(Connection connection, string? endpoint = null)
    {
        if (endpoint is not null && _connections.TryGetValue(endpoint, out var task) && task.IsCompletedSuccessfully && task.Result == connection)
        {
            _connections.TryRemove(KeyValuePair.Create(endpoint, task));
        }

        foreach (var (correlation, pending) in _pending)
        {
            if (pending.Connection == connection && _pending.TryRemove(correlation, out _))
            {
                pending.Request.TryFail(new SiloUnavailableException(
                    $"The connection to {connection.Peer ?? "a peer"} closed while {pending.Request} was in flight; it may or may not have run."));
            }
        }
    }

    /// <summary>Fails in-flight calls to a silo the cluster has declared dead, and drops its connection.</summary>
    public void ForgetSilo(SiloAddress silo, int gatewayPort)
    {
        foreach (var endpoint in new[] { silo.Endpoint, $"{silo.Host}:{gatewayPort}" })
        {
            if (_connections.TryRemove(endpoint, out var task) && task.IsCompletedSuccessfully)
            {
                task.Result.Close();
            }
        }

        foreach (var (correlation, pending) in _pending)
        {
            if (pending.Request.SentTo == silo && _pending.TryRemove(correlation, out _))
            {
                pending.Request.TryFail(new SiloUnavailableException($"Silo {silo} died while {pending.Request} was in flight."));
            }
        }
    }

    private void FailExpired(long nowTicks)
    {
        foreach (var (correlation, pending) in _pending)
        {
            if (nowTicks >= pending.Request.DeadlineTicks && _pending.TryRemove(correlation, out _))
            {
                pending.Request.TryFail(new TimeoutException(
                    $"{pending.Request.InterfaceName}.{pending.Request.MethodName} on {pending.Request.Target} did not answer within {_runtime.Options.ResponseTimeout}."));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        foreach (var listener in _listeners)
        {
            listener.Stop();
        }

        foreach (var (_, task) in _connections)
        {
            if (task.IsCompletedSuccessfully)
            {
                await task.Result.DisposeAsync();
            }
        }
    }

    private readonly record struct PendingCall(GrainRequest Request, Connection Connection);
}
