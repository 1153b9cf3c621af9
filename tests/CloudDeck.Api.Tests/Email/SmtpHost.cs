using System.Net;
using System.Text.RegularExpressions;
using System.Web;
using CloudDeck.Api.Tests.Accounts;
using MimeKit;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;

namespace CloudDeck.Api.Tests.Email;

/// <summary>The in-process API sending its email to a real SMTP server (smtp-server from npm, run by node) on loopback.</summary>
internal static partial class SmtpHost
{
    public static readonly TimeSpan MailTimeout = TimeSpan.FromSeconds(60);

    public static Dictionary<string, string?> Settings(int port) => new()
    {
        ["CloudDeck:Email:Smtp:Host"] = "127.0.0.1",
        ["CloudDeck:Email:Smtp:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["CloudDeck:Email:Smtp:Security"] = "None",
        ["CloudDeck:Email:Smtp:From"] = "CloudDeck <noreply@clouddeck.test>",
        ["CloudDeck:Email:Smtp:Timeout"] = "00:00:05",
        ["CloudDeck:Email:RetryDelay"] = "00:00:01",
        ["CloudDeck:Email:MaxRetryDelay"] = "00:00:02",
    };

    /// <summary>An API whose reminders may tick every second (the outbox's reminder period follows its retry delay).</summary>
    public static InProcessApi Api(int port, string? dataDirectory = null) =>
        new(dataDirectory, Settings(port), services: services => services.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1)));

    public static MimeMessage Parse(ReceivedEmail email) => MimeMessage.Load(new MemoryStream(email.Raw));

    /// <summary>The one link in the plain-text body that carries a token.</summary>
    public static Uri LinkIn(MimeMessage message)
    {
        var link = Link().Matches(message.TextBody ?? "").Select(m => m.Value).Single(l => l.Contains("token=", StringComparison.Ordinal));
        return new Uri(link);
    }

    public static string TokenOf(Uri link) => HttpUtility.ParseQueryString(link.Query)["token"]!;

    /// <summary>The account's own view of its email, by kind (newest first).</summary>
    public static async Task<List<System.Text.Json.Nodes.JsonNode>> DeliveriesAsync(InProcessApi api, Account account, string kind) =>
        [.. (await api.GetAsync("/api/v1/me/emails", account.AccessToken)).Expect(HttpStatusCode.OK)["items"]!.AsArray()
            .Where(i => i!["kind"]!.GetValue<string>() == kind).Select(i => i!)];

    [GeneratedRegex(@"https?://[^\s""<>]+")]
    private static partial Regex Link();
}
