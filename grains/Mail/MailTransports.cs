using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace CloudDeck.Grains.Mail;

public enum DeliveryOutcome
{
    Delivered,

    /// <summary>Worth trying again later: no connection, a timeout, a 4xx reply, a login the operator can still fix.</summary>
    TemporaryFailure,

    /// <summary>The server refused the message for good (a 5xx reply to the sender, recipient or data).</summary>
    PermanentFailure,
}

/// <param name="Answer">What the server said (or what went wrong on the way to it), for the delivery record; never a secret.</param>
public sealed record DeliveryResult(DeliveryOutcome Outcome, string Answer);

/// <summary>Hands one message on: to an SMTP server, or to the local mail folder.</summary>
public interface IMailTransport
{
    Task<DeliveryResult> SendAsync(MimeMessage message, CancellationToken cancellationToken);
}

/// <summary>One SMTP session per message, with MailKit.</summary>
public sealed class SmtpMailTransport(EmailOptions options) : IMailTransport
{
    private SmtpOptions Smtp => options.Smtp;

    public async Task<DeliveryResult> SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        using var client = new SmtpClient { Timeout = (int)Smtp.Timeout.TotalMilliseconds };
        string answer;
        try
        {
            await client.ConnectAsync(Smtp.Host!, Smtp.Port, Smtp.SecurityMode!.Value, cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(Smtp.Username))
            {
                await client.AuthenticateAsync(Smtp.Username, Smtp.Password ?? "", cancellationToken).ConfigureAwait(false);
            }

            answer = await client.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (SmtpCommandException refused)
        {
            var code = (int)refused.StatusCode;
            var outcome = code is >= 500 and < 600 ? DeliveryOutcome.PermanentFailure : DeliveryOutcome.TemporaryFailure;
            return new DeliveryResult(outcome, $"{code} {refused.Message}");
        }
        catch (AuthenticationException login)
        {
            // A wrong login is the operator's to fix; the messages wait for it rather than fail for good.
            return new DeliveryResult(DeliveryOutcome.TemporaryFailure, $"authentication refused: {login.Message}");
        }
        catch (Exception unreachable) when (unreachable is SocketException or IOException or TimeoutException or SmtpProtocolException
                                                or SslHandshakeException or ServiceNotConnectedException
                                                || (unreachable is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new DeliveryResult(DeliveryOutcome.TemporaryFailure, $"{Smtp.Host}:{Smtp.Port}: {unreachable.Message}");
        }

        // The server took the message: a failure to say goodbye changes nothing.
        try
        {
            await client.DisconnectAsync(quit: true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception quit) when (quit is IOException or SocketException or SmtpProtocolException or OperationCanceledException)
        {
        }

        return new DeliveryResult(DeliveryOutcome.Delivered, answer);
    }
}

/// <summary>
/// The embedded default with no SMTP server: each message becomes an .eml file in <c>{DataDirectory}/mail/</c> that only the
/// platform's user can read (folder 0700, files 0600). A log line tells the operator the file, never its link.
/// </summary>
public sealed partial class MailFolderTransport(string folder, ILogger<MailFolderTransport> logger) : IMailTransport
{
    public string Folder { get; } = folder;

    public async Task<DeliveryResult> SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        else
        {
            Directory.CreateDirectory(Folder);
        }

        var id = (message.MessageId ?? Guid.NewGuid().ToString("N")).Split('@')[0];
        var path = Path.Combine(Folder, $"{message.Date.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{id}.eml");
        // Replaces an earlier copy of the same message (an attempt interrupted before it was recorded) instead of adding one.
        var create = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var file = new FileStream(path, create))
        {
            await message.WriteToAsync(file, cancellationToken).ConfigureAwait(false);
        }

        LogWritten(logger, message.To.ToString(), path);
        return new DeliveryResult(DeliveryOutcome.Delivered, $"no SMTP server configured (CloudDeck:Email:Smtp:Host): written to the mail folder as {Path.GetFileName(path)}");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "No SMTP server is configured: the email to {To} was written to {Path} (readable by this user only). Set CloudDeck:Email:Smtp:Host to send email.")]
    private static partial void LogWritten(ILogger logger, string to, string path);
}
