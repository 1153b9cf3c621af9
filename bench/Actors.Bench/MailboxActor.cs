using System.Threading.Channels;

namespace Actors.Bench;

/// <summary>
/// The baseline: the least an actor can be. One channel and one reader loop per object; a call posts a
/// completion source and awaits it. No ids, no directory, no lifecycle, no timeouts, no call chains.
/// </summary>
public sealed class MailboxActor
{
    private readonly Channel<TaskCompletionSource<int>> _mailbox =
        Channel.CreateUnbounded<TaskCompletionSource<int>>(new UnboundedChannelOptions { SingleReader = true });

    private int _count;

    public MailboxActor() => _ = Task.Run(RunAsync);

    public Task<int> Increment()
    {
        var reply = new TaskCompletionSource<int>();
        _mailbox.Writer.TryWrite(reply);
        return reply.Task;
    }

    private async Task RunAsync()
    {
        var reader = _mailbox.Reader;
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out var reply))
            {
                reply.TrySetResult(++_count);
            }
        }
    }
}
