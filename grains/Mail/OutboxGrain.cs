using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.Grains.Accounts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudDeck.Grains.Mail;

/// <summary>
/// Queued email for one recipient, persisted until delivery exists. The log line names kind, recipient and
/// subject only: bodies carry one-time links, and a link in a log is a credential in a log.
/// </summary>
public sealed class OutboxGrain(
    [PersistentState("outbox")] IPersistentState<OutboxGrain.OutboxState> state,
    IOptions<AuthOptions> options,
    ILogger<OutboxGrain> logger) : Grain, IOutboxGrain
{
    private const int Kept = 100;

    public async Task Enqueue(OutboxMessage message)
    {
        state.State.Messages.Add(message);
        if (state.State.Messages.Count > Kept) state.State.Messages.RemoveAt(0);
        await state.WriteStateAsync();
        if (options.Value.LogOutbox)
        {
            logger.LogInformation("Outbox: {Kind} email to {To}: \"{Subject}\" (link withheld from the log)", message.Kind, message.To, message.Subject);
        }
    }

    public Task<IReadOnlyList<OutboxMessage>> List() => Task.FromResult<IReadOnlyList<OutboxMessage>>([.. state.State.Messages]);

    public sealed class OutboxState
    {
        public List<OutboxMessage> Messages { get; set; } = [];
    }
}
