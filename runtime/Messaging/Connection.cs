using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Actors.Runtime;

/// <summary>
/// One TCP connection carrying many calls at once. Senders queue messages; one writer loop encodes everything
/// queued into the pipe and flushes once (write batching); one reader loop parses frames and hands them on.
/// </summary>
internal sealed class Connection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly Channel<Message> _outbox = Channel.CreateUnbounded<Message>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<Connection, Message, ValueTask> _onMessage;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Connection(Socket socket, Func<Connection, Message, ValueTask> onMessage)
    {
        socket.NoDelay = true;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _onMessage = onMessage;
    }

    /// <summary>Who is at the other end, once its hello arrived (or ours was sent).</summary>
    public string? Peer { get; set; }

    public Task Closed => _closed.Task;

    public bool IsClosed => _closing.IsCancellationRequested;

    public void Start()
    {
        _ = Task.Run(ReadLoopAsync);
        _ = Task.Run(WriteLoopAsync);
    }

    /// <returns>False if the connection is closed; the message was not sent.</returns>
    public bool Send(Message message) => !_closing.IsCancellationRequested && _outbox.Writer.TryWrite(message);

    private async Task WriteLoopAsync()
    {
        var writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));
        try
        {
            var reader = _outbox.Reader;
            while (await reader.WaitToReadAsync(_closing.Token))
            {
                while (reader.TryRead(out var message))
                {
                    message.WriteTo(writer);
                }

                var flushed = await writer.FlushAsync(_closing.Token);
                if (flushed.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception)
        {
            // The peer went away or we are closing; whoever owns the connection learns it from Closed.
        }
        finally
        {
            Close();
        }
    }

    private async Task ReadLoopAsync()
    {
        var reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            while (!_closing.IsCancellationRequested)
            {
                var result = await reader.ReadAsync(_closing.Token);
                var buffer = result.Buffer;
                while (Message.TryRead(ref buffer, out var message))
                {
                    await _onMessage(this, message!);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception)
        {
            // Reset by the peer, a malformed frame, or closed by us: in every case the connection is done.
        }
        finally
        {
            Close();
        }
    }

    public void Close()
    {
        if (_closing.IsCancellationRequested)
        {
            return;
        }

        _closing.Cancel();
        _outbox.Writer.TryComplete();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _stream.Dispose();
        _closed.TrySetResult();
    }

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }
}
