using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Actors.Bench;

/// <summary>
/// The baseline for remote calls: fixed-size frames with a correlation id over one TCP connection, a writer loop
/// that batches whatever is queued into one flush, a reader loop that completes callers. No serialization, no
/// routing, no activation: what is left of a remote call when everything but the network is taken away.
/// </summary>
internal sealed class RawEchoClient : IAsyncDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private readonly Channel<long> _outbox = Channel.CreateUnbounded<long>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<long, TaskCompletionSource> _pending = new();
    private readonly int _frameBytes;
    private long _next;

    private RawEchoClient(int frameBytes) => _frameBytes = Math.Max(frameBytes, 12);

    public static async Task<RawEchoClient> ConnectAsync(int port, int frameBytes)
    {
        var client = new RawEchoClient(frameBytes);
        await client._socket.ConnectAsync("127.0.0.1", port);
        var stream = new NetworkStream(client._socket, ownsSocket: false);
        _ = client.WriteLoopAsync(PipeWriter.Create(stream));
        _ = client.ReadLoopAsync(PipeReader.Create(stream));
        return client;
    }

    public Task CallAsync()
    {
        var id = Interlocked.Increment(ref _next);
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        _outbox.Writer.TryWrite(id);
        return answer.Task;
    }

    private async Task WriteLoopAsync(PipeWriter writer)
    {
        while (await _outbox.Reader.WaitToReadAsync())
        {
            while (_outbox.Reader.TryRead(out var id))
            {
                var span = writer.GetSpan(_frameBytes);
                span[.._frameBytes].Clear();
                BinaryPrimitives.WriteInt32BigEndian(span, _frameBytes - 4);
                BinaryPrimitives.WriteInt64BigEndian(span[4..], id);
                writer.Advance(_frameBytes);
            }

            await writer.FlushAsync();
        }
    }

    private async Task ReadLoopAsync(PipeReader reader)
    {
        var header = new byte[12];
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                while (buffer.Length >= _frameBytes)
                {
                    var frame = buffer.Slice(0, _frameBytes);
                    frame.Slice(0, 12).CopyTo(header);
                    if (_pending.TryRemove(BinaryPrimitives.ReadInt64BigEndian(header.AsSpan(4)), out var answer))
                    {
                        answer.TrySetResult();
                    }

                    buffer = buffer.Slice(_frameBytes);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception) when (!_socket.Connected)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        _outbox.Writer.TryComplete();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
