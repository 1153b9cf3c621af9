using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.Grains.Accounts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using Orleans.Configuration;

namespace CloudDeck.Grains.Mail;

/// <summary>
/// The email of one recipient: queued, handed to the transport in a turn of its own (so a slow SMTP server never holds up
/// the sign-up that queued it), retried with exponential backoff on temporary failures, and recorded as delivered or failed
/// with the server's answer. A reminder stands for pending messages, so a restart resumes them.
/// Before each attempt the grain records that it started, under the message's stable Message-ID: a crash between the
/// server's acceptance and the record leaves an attempt without an answer, and the retry carries the same Message-ID, so
/// the worst case is the same message twice, recognisable as one by the recipient's mail system.
/// Log lines name kind and recipient only: bodies carry one-time links, and a link in a log is a credential in a log.
/// </summary>
public sealed partial class OutboxGrain(
    [PersistentState("outbox")] IPersistentState<OutboxState> state,
    IOptions<AuthOptions> auth,
    EmailOptions options,
    IMailTransport transport,
    IOptions<ReminderOptions> reminders,
    TimeProvider clock,
    ILogger<OutboxGrain> logger) : Grain, IOutboxGrain, IRemindable
{
    private const int Kept = 100;
    private const string DeliveryReminder = "deliver";

    private readonly SemaphoreSlim _writes = new(1, 1);
    private IGrainTimer? _timer;
    private bool _delivering;
    private bool _reminderRegistered;

    private List<OutboxEntry> Entries => state.State.Entries;

    private DateTimeOffset Now => clock.GetUtcNow();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Messages queued before delivery existed wait as pending ones.
        if (state.State.Messages.Count > 0)
        {
            foreach (var message in state.State.Messages) Entries.Add(OutboxEntry.For(message, NewMessageId()));
            state.State.Messages.Clear();
            await state.WriteStateAsync(cancellationToken);
        }

        if (Entries.Any(e => e.Status == EmailDeliveryStatuses.Pending)) Schedule(TimeSpan.Zero);
    }

    public async Task Enqueue(OutboxMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        // The reminder first: should the process stop right after the write below, it is what brings the message back.
        await EnsureReminderAsync();
        Entries.Add(OutboxEntry.For(message, NewMessageId()));
        Trim();
        await SaveAsync();
        if (auth.Value.LogOutbox) LogQueued(logger, message.Kind, message.To, message.Subject);
        Schedule(TimeSpan.Zero);
    }

    public Task<IReadOnlyList<OutboxMessage>> List() => Task.FromResult<IReadOnlyList<OutboxMessage>>([.. Entries.Select(e => e.Message)]);

    public Task<IReadOnlyList<EmailDeliveryView>> Deliveries() =>
        Task.FromResult<IReadOnlyList<EmailDeliveryView>>([.. Entries.AsEnumerable().Reverse().Select(e => e.View())]);

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == DeliveryReminder) Schedule(TimeSpan.Zero);
        return Task.CompletedTask;
    }

    /// <summary>Interleaved with calls: Enqueue and the views answer while an attempt waits on the server.</summary>
    private void Schedule(TimeSpan due)
    {
        if (_delivering) return;
        _timer?.Dispose();
        _timer = this.RegisterGrainTimer(static (grain, _) => grain.DeliverDueAsync(), this,
            new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { Interleave = true, KeepAlive = true });
    }

    private async Task DeliverDueAsync()
    {
        if (_delivering) return;
        _delivering = true;
        try
        {
            _timer?.Dispose();
            _timer = null;
            foreach (var entry in Entries.Where(e => e.Status == EmailDeliveryStatuses.Pending && e.NextAttemptAt <= Now).ToList())
            {
                await AttemptAsync(entry);
            }
        }
        finally
        {
            _delivering = false;
        }

        var next = Entries.Where(e => e.Status == EmailDeliveryStatuses.Pending).Select(e => (DateTimeOffset?)e.NextAttemptAt).Min();
        if (next is { } at)
        {
            // Never longer than the reminder's period: the reminder keeps the message alive across restarts, the timer is
            // what makes short backoffs short (and, with a manual clock in tests, it polls).
            var wait = at - Now;
            Schedule(wait <= TimeSpan.Zero ? TimeSpan.Zero : wait < ReminderPeriod ? wait : ReminderPeriod);
        }
        else
        {
            await DropReminderAsync();
        }
    }

    private async Task AttemptAsync(OutboxEntry entry)
    {
        if (Now - entry.Message.CreatedAt >= options.GiveUpAfter)
        {
            entry.Fail(Now, $"gave up after {entry.Attempts} attempt(s) over {options.GiveUpAfter}; last answer: {entry.LastAnswer ?? "none"}");
            await SaveAsync();
            LogFailed(logger, entry.Message.Kind, entry.Message.To, entry.MessageId, entry.LastAnswer ?? "");
            return;
        }

        MimeMessage mime;
        try
        {
            mime = Compose(entry);
        }
        catch (ParseException invalid)
        {
            entry.Fail(Now, $"not a deliverable address: {invalid.Message}");
            await SaveAsync();
            LogFailed(logger, entry.Message.Kind, entry.Message.To, entry.MessageId, entry.LastAnswer!);
            return;
        }

        // Recorded before the attempt: after a crash, an attempt without an answer shows it may have gone out.
        entry.Attempts++;
        entry.LastAttemptAt = Now;
        await SaveAsync();

        DeliveryResult result;
        try
        {
            result = await transport.SendAsync(mime, CancellationToken.None);
        }
        catch (Exception unexpected)
        {
            // Whatever else goes wrong on the way (a server without the STARTTLS the settings require, say) is the
            // operator's to fix: the message waits and says why, rather than losing the rest of this round.
            result = new DeliveryResult(DeliveryOutcome.TemporaryFailure, $"{unexpected.GetType().Name}: {unexpected.Message}");
        }

        switch (result.Outcome)
        {
            case DeliveryOutcome.Delivered:
                entry.Deliver(Now, result.Answer);
                LogDelivered(logger, entry.Message.Kind, entry.Message.To, entry.MessageId);
                break;
            case DeliveryOutcome.PermanentFailure:
                entry.Fail(Now, result.Answer);
                LogFailed(logger, entry.Message.Kind, entry.Message.To, entry.MessageId, result.Answer);
                break;
            default:
                var backoff = Backoff(entry.Attempts);
                entry.RetryAt(Now + backoff, result.Answer);
                LogRetrying(logger, entry.Message.Kind, entry.Message.To, entry.Attempts, backoff, result.Answer);
                break;
        }

        await SaveAsync();
    }

    private MimeMessage Compose(OutboxEntry entry)
    {
        var rendered = EmailTemplates.Render(entry.Message);
        var message = new MimeMessage
        {
            MessageId = entry.MessageId,
            Date = entry.Message.CreatedAt,
            Subject = rendered.Subject,
            Body = new BodyBuilder { TextBody = rendered.Text, HtmlBody = rendered.Html }.ToMessageBody(),
        };
        message.From.Add(options.Sender);
        message.To.Add(MailboxAddress.Parse(entry.Message.To));
        message.Headers.Add("X-CloudDeck-Kind", entry.Message.Kind);
        // Automated mail: no vacation replies back to the sender.
        message.Headers.Add("Auto-Submitted", "auto-generated");
        return message;
    }

    private TimeSpan Backoff(int attempts)
    {
        var factor = Math.Pow(2, Math.Min(attempts - 1, 30));
        var delay = TimeSpan.FromTicks((long)Math.Min(options.RetryDelay.Ticks * factor, options.MaxRetryDelay.Ticks));
        return delay;
    }

    private TimeSpan ReminderPeriod => options.RetryDelay > reminders.Value.MinimumReminderPeriod ? options.RetryDelay : reminders.Value.MinimumReminderPeriod;

    private async Task EnsureReminderAsync()
    {
        if (_reminderRegistered) return;
        await this.RegisterOrUpdateReminder(DeliveryReminder, ReminderPeriod, ReminderPeriod);
        _reminderRegistered = true;
    }

    private async Task DropReminderAsync()
    {
        var reminder = await this.GetReminder(DeliveryReminder);
        if (reminder is not null) await this.UnregisterReminder(reminder);
        _reminderRegistered = false;
        // An Enqueue that interleaved with the lines above found the reminder still there: register it again for that message.
        if (Entries.Any(e => e.Status == EmailDeliveryStatuses.Pending)) await EnsureReminderAsync();
    }

    /// <summary>Keeps the newest messages; a pending one goes only when nothing settled is left to drop.</summary>
    private void Trim()
    {
        while (Entries.Count > Kept)
        {
            var settled = Entries.FindIndex(e => e.Status != EmailDeliveryStatuses.Pending);
            Entries.RemoveAt(settled >= 0 ? settled : 0);
        }
    }

    /// <summary>Writes one at a time: attempts interleave with Enqueue, and two writes in flight would conflict.</summary>
    private async Task SaveAsync()
    {
        await _writes.WaitAsync();
        try
        {
            await state.WriteStateAsync();
        }
        finally
        {
            _writes.Release();
        }
    }

    private string NewMessageId() => $"{Guid.NewGuid():N}@{options.Sender.Domain}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox: {Kind} email to {To}: \"{Subject}\" queued (link withheld from the log)")]
    private static partial void LogQueued(ILogger logger, string kind, string to, string subject);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox: {Kind} email to {To} delivered (Message-ID {MessageId})")]
    private static partial void LogDelivered(ILogger logger, string kind, string to, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox: {Kind} email to {To} failed for good (Message-ID {MessageId}): {Answer}")]
    private static partial void LogFailed(ILogger logger, string kind, string to, string messageId, string answer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox: {Kind} email to {To} not delivered on attempt {Attempts}, next in {Backoff}: {Answer}")]
    private static partial void LogRetrying(ILogger logger, string kind, string to, int attempts, TimeSpan backoff, string answer);
}
