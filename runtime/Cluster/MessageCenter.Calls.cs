using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

internal sealed partial class MessageCenter
{
    /// <summary>
    /// Sends a request to the silo that owns its grain. If the silo cannot be reached the request waits and is
    /// dispatched again: once the cluster notices the silo is gone, placement sends it to the new owner.
    /// </summary>
    public void SendRequest(SiloAddress owner, string endpoint, GrainRequest request) => _ = SendRequestAsync(owner, endpoint, request);

    private async Task SendRequestAsync(SiloAddress owner, string endpoint, GrainRequest request)
    {
        Connection connection;
        try
        {
            connection = await GetConnectionAsync(endpoint);
        }
        catch (Exception exception) when (!_stopping.IsCancellationRequested)
        {
            _logger.LogDebug(exception, "Silo {Silo} is unreachable; {Request} will be dispatched again", owner, request);
            await _runtime.Cluster!.DispatchAgainLaterAsync(request, refresh: false);
            return;
        }

        byte[] body;
        try
        {
            body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(request, request.GetType(), Wire.Options);
        }
        catch (Exception exception)
        {
            request.TryFail(new InvalidOperationException($"The arguments of {request} cannot be sent to another silo: {exception.Message}", exception));
            return;
        }

        if (body.Length > Message.MaxFrameBytes / 2)
        {
            // One oversized frame would make the peer drop the connection and every call on it.
            request.TryFail(new ArgumentException($"The arguments of {request} take {body.Length} bytes; a call may carry at most {Message.MaxFrameBytes / 2}."));
            return;
        }

        var oneWay = (request.Flags & RequestFlags.OneWay) != 0;
        var correlation = oneWay ? 0 : Interlocked.Increment(ref _nextCorrelationId);
        request.SentTo = owner;
        if (!oneWay)
        {
            _pending[correlation] = new PendingCall(request, connection);
        }
        var message = new Message
        {
            Kind = MessageKind.Request,
            CorrelationId = correlation,
            Target = request.Target.ToString(),
            RequestType = WireFormat.RequestTypeName(request),
            TimeoutMs = (int)Math.Max(1, request.DeadlineTicks - Environment.TickCount64),
            Hops = request.Hops,
            TraceParent = request.TraceParent,
            Chain = CallChainNode.Serialize(request.Chain),
            Body = body,
        };
        // A one-way caller already has its completed task (GrainRuntime.Invoke); nothing more is owed to it.
        if (!connection.Send(message) && (oneWay || _pending.TryRemove(correlation, out _)))
        {
            // Not written at all, so it certainly did not run: safe to dispatch again.
            _runtime.Dispatch(request);
        }
    }

    private ValueTask OnMessageAsync(Connection connection, Message message)
    {
        switch (message.Kind)
        {
            case MessageKind.Hello:
                connection.Peer = message.Sender;
                // A silo that dialled us is reachable on this connection too: one connection per pair.
                if (message.Sender is { } sender && sender.StartsWith("silo/", StringComparison.Ordinal))
                {
                    _connections.TryAdd(SiloAddress.Parse(sender["silo/".Length..]).Endpoint, Task.FromResult(connection));
                }

                break;
            case MessageKind.Request:
                OnRequest(connection, message);
                break;
            case MessageKind.Response:
                OnResponse(message);
                break;
            case MessageKind.Ping:
                connection.Send(new Message { Kind = MessageKind.Pong, CorrelationId = message.CorrelationId });
                break;
            case MessageKind.Pong:
                if (_pings.TryRemove(message.CorrelationId, out var ping))
                {
                    ping.TrySetResult(message.ExceptionMessage is null);
                }

                break;
            case MessageKind.IndirectPing:
                _ = AnswerIndirectPingAsync(connection, message);
                break;
            case MessageKind.Gossip:
                GossipReceived?.Invoke();
                break;
        }

        return ValueTask.CompletedTask;
    }

    private void OnRequest(Connection connection, Message message)
    {
        GrainRequest request;
        try
        {
            request = Wire.DeserializeRequest(message.RequestType!, message.Body);
            request.Target = GrainId.Parse(message.Target!);
            request.Chain = CallChainNode.Deserialize(message.Chain);
        }
        catch (Exception exception)
        {
            SendFailure(connection, message.CorrelationId, exception);
            return;
        }

        request.Hops = message.Hops + 1;
        request.IsInbound = true;
        request.TraceParent = message.TraceParent;
        request.DeadlineTicks = Environment.TickCount64 + message.TimeoutMs;

        var answer = request.PrepareAnswerForRemote();
        answer.ContinueWith(static (done, state) =>
        {
            var (center, connection, correlation, request) = ((MessageCenter, Connection, long, GrainRequest))state!;
            center.SendAnswer(connection, correlation, request, done);
        }, (this, connection, message.CorrelationId, request), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _runtime.Dispatch(request);
    }

    private void SendAnswer(Connection connection, long correlation, GrainRequest request, Task answered)
    {
        if (correlation == 0)
        {
            if (answered.Exception is { } oneWayError)
            {
                _logger.LogWarning(oneWayError.GetBaseException(), "The one-way call {Request} failed", request);
            }

            return; // One-way: the caller is not waiting for anything.
        }

        if (answered.Exception is { } error)
        {
            SendFailure(connection, correlation, error.GetBaseException());
            return;
        }

        byte[] body;
        try
        {
            body = request.SerializeAnswer(answered, Wire.Options);
        }
        catch (Exception exception)
        {
            SendFailure(connection, correlation, exception);
            return;
        }

        connection.Send(new Message { Kind = MessageKind.Response, CorrelationId = correlation, Body = body });
    }

    private static void SendFailure(Connection connection, long correlation, Exception exception)
    {
        var (type, text) = WireFormat.DescribeException(exception);
        connection.Send(new Message { Kind = MessageKind.Response, CorrelationId = correlation, ExceptionType = type, ExceptionMessage = text });
    }

    private void OnResponse(Message message)
    {
        if (!_pending.TryRemove(message.CorrelationId, out var pending))
        {
            return; // Timed out, or its connection closed first.
        }

        if (message.ExceptionType?.StartsWith(typeof(RequestRejectedException).FullName!, StringComparison.Ordinal) == true)
        {
            // Not run there: send it again once our view has caught up with the silo's departure.
            _ = _runtime.Cluster!.DispatchAgainLaterAsync(pending.Request, refresh: true);
        }
        else if (message.ExceptionType is not null || message.ExceptionMessage is not null)
        {
            pending.Request.TryFail(WireFormat.RebuildException(message.ExceptionType, message.ExceptionMessage));
        }
        else
        {
            pending.Request.AnswerFromWire(message.Body, Wire.Options);
        }
    }

    /// <summary>Sends a ping and waits for the pong; false on timeout or a dead connection.</summary>
    public async Task<bool> PingAsync(string endpoint, TimeSpan timeout)
    {
        var correlation = Interlocked.Increment(ref _nextCorrelationId);
        var pong = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pings[correlation] = pong;
        try
        {
            var stopwatch = Stopwatch.StartNew();
            using var cancel = new CancellationTokenSource(timeout);
            var connection = await GetConnectionAsync(endpoint).WaitAsync(cancel.Token);
            if (!connection.Send(new Message { Kind = MessageKind.Ping, CorrelationId = correlation }))
            {
                return false;
            }

            return await pong.Task.WaitAsync(timeout - stopwatch.Elapsed);
        }
        catch (Exception)
        {
            return false;
        }
        finally
        {
            _pings.TryRemove(correlation, out _);
        }
    }

    /// <summary>Asks <paramref name="viaEndpoint"/> to ping <paramref name="targetEndpoint"/> for us.</summary>
    public async Task<bool> PingIndirectlyAsync(string viaEndpoint, string targetEndpoint, TimeSpan timeout)
    {
        var correlation = Interlocked.Increment(ref _nextCorrelationId);
        var pong = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pings[correlation] = pong;
        try
        {
            var connection = await GetConnectionAsync(viaEndpoint).WaitAsync(timeout);
            connection.Send(new Message { Kind = MessageKind.IndirectPing, CorrelationId = correlation, Target = targetEndpoint, TimeoutMs = (int)timeout.TotalMilliseconds });
            return await pong.Task.WaitAsync(timeout * 2);
        }
        catch (Exception)
        {
            return false;
        }
        finally
        {
            _pings.TryRemove(correlation, out _);
        }
    }

    private async Task AnswerIndirectPingAsync(Connection connection, Message message)
    {
        // Only silos of this cluster may be probed on a peer's behalf, not any host:port it names.
        var known = _runtime.Cluster!.View.Entries.Any(e => e.Silo.Endpoint == message.Target);
        var alive = known && await PingAsync(message.Target!, TimeSpan.FromMilliseconds(Math.Max(100, message.TimeoutMs)));
        connection.Send(new Message { Kind = MessageKind.Pong, CorrelationId = message.CorrelationId, ExceptionMessage = alive ? null : "unreachable" });
    }

    /// <summary>Tells the given silos the membership table changed, so they read it now instead of at their next refresh.</summary>
    public void Gossip(IEnumerable<SiloAddress> silos)
    {
        foreach (var silo in silos)
        {
            _ = GossipAsync(silo.Endpoint);
        }
    }

    private async Task GossipAsync(string endpoint)
    {
        try
        {
            var connection = await GetConnectionAsync(endpoint);
            connection.Send(new Message { Kind = MessageKind.Gossip });
        }
        catch (Exception exception)
        {
            _logger.LogDebug(exception, "Gossip to {Endpoint} failed", endpoint);
        }
    }
}
