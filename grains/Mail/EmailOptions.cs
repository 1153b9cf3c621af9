using MimeKit;

namespace CloudDeck.Grains.Mail;

/// <summary>
/// Settings under <c>CloudDeck:Email:*</c>. With no <c>Smtp:Host</c> nothing leaves the machine: messages are written to
/// <c>{DataDirectory}/mail/</c> (mode 0600) for the operator to read or forward.
/// </summary>
public sealed class EmailOptions
{
    public const string Section = "CloudDeck:Email";

    public SmtpOptions Smtp { get; set; } = new();

    /// <summary>The wait after the first temporary failure; each further one doubles it, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A message still undelivered this long after it was queued is recorded as failed (its links expire anyway).</summary>
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromDays(2);

    public bool UsesSmtp => !string.IsNullOrWhiteSpace(Smtp.Host);

    /// <summary>The From address; with no SMTP server, a local one (the mail folder's messages go nowhere by themselves).</summary>
    public MailboxAddress Sender => _sender ??= UsesSmtp ? MailboxAddress.Parse(Smtp.From!) : new MailboxAddress("CloudDeck", "clouddeck@localhost");

    private MailboxAddress? _sender;

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public void Validate()
    {
        RequirePositive(nameof(RetryDelay), RetryDelay);
        RequirePositive(nameof(MaxRetryDelay), MaxRetryDelay);
        RequirePositive(nameof(GiveUpAfter), GiveUpAfter);
        if (MaxRetryDelay < RetryDelay) throw Invalid(nameof(MaxRetryDelay), $"must be at least RetryDelay ({RetryDelay})");
        if (!UsesSmtp) return;
        if (Smtp.Port is < 1 or > 65535) throw Invalid("Smtp:Port", $"must be a TCP port between 1 and 65535 (was {Smtp.Port})");
        if (Smtp.SecurityMode is null)
        {
            throw Invalid("Smtp:Security", $"must be None, StartTls or Tls (was '{Smtp.Security}'; StartTls for port 587, Tls for 465)");
        }

        if (string.IsNullOrWhiteSpace(Smtp.From) || !MailboxAddress.TryParse(Smtp.From, out _))
        {
            throw Invalid("Smtp:From", $"must be the sender's address, such as 'CloudDeck <noreply@example.com>' (was '{Smtp.From}')");
        }

        if (string.IsNullOrEmpty(Smtp.Username) != string.IsNullOrEmpty(Smtp.Password))
        {
            throw Invalid("Smtp:Password", "and Smtp:Username must be set together (or neither, for a server that needs no login)");
        }

        RequirePositive("Smtp:Timeout", Smtp.Timeout);
    }

    private static void RequirePositive(string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero) throw Invalid(name, $"must be a positive time span such as 00:00:30 (was {value})");
    }

    private static InvalidOperationException Invalid(string name, string problem) => new($"{Section}:{name} {problem}.");
}

/// <summary>Settings under <c>CloudDeck:Email:Smtp:*</c>: the server CloudDeck hands its email to.</summary>
public sealed class SmtpOptions
{
    public string? Host { get; set; }

    public int Port { get; set; } = 587;

    /// <summary><c>None</c> (plain text, a local relay only), <c>StartTls</c> (required, not opportunistic) or <c>Tls</c> (implicit, port 465).</summary>
    public string Security { get; set; } = "StartTls";

    public string? Username { get; set; }

    /// <summary>A secret: never logged, never answered by the API.</summary>
    public string? Password { get; set; }

    /// <summary>The From header and envelope sender, such as <c>CloudDeck &lt;noreply@example.com&gt;</c>.</summary>
    public string? From { get; set; }

    /// <summary>How long one connection, command or reply may take before the attempt counts as a temporary failure.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    public MailKit.Security.SecureSocketOptions? SecurityMode => Security.Trim().ToLowerInvariant() switch
    {
        "none" => MailKit.Security.SecureSocketOptions.None,
        "starttls" => MailKit.Security.SecureSocketOptions.StartTls,
        "tls" => MailKit.Security.SecureSocketOptions.SslOnConnect,
        _ => null,
    };
}
