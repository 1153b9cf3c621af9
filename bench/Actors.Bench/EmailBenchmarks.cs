using System.Diagnostics;
using Actors.Extensions.Hosting;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Mail;
using CloudDeck.Testing;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Orleans.Hosting;

namespace Actors.Bench;

/// <summary>
/// Emails per second through the outbox to a real local SMTP server (smtp-server from npm, run by node, counting what it
/// accepts): every message queued at once to distinct recipients, timed from the first Enqueue until the server has accepted
/// the last. Each message costs the outbox two state writes (attempt, answer) in embedded mode's SQLite, the templates,
/// and an SMTP session of its own. Beside it, the same number of messages sent by MailKit straight to the same server with
/// the same concurrency and one session per message: what the SMTP exchange alone costs.
/// </summary>
internal static class EmailBenchmarks
{
    private const int Messages = 500;
    private const int Concurrency = 100;
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        var reason = NodeHarness.MissingReason;
        if (reason is not null)
        {
            report.Note($"email: skipped. {reason}");
            return;
        }

        double outbox = 0, direct = 0;
        for (var round = 0; round < options.Rounds; round++)
        {
            var (o, d) = await RoundAsync();
            (outbox, direct) = (Math.Max(outbox, o), Math.Max(direct, d));
        }

        report.Add($"emails/s delivered by the outbox to a local SMTP server ({Messages} recipients, queued at once)", outbox,
            $"MailKit straight to the same server, {Concurrency} at a time", direct);
    }

    private static async Task<(double Outbox, double Direct)> RoundAsync()
    {
        await using var smtp = await SmtpTestServer.StartAsync(quiet: true);
        var directory = Directory.CreateTempSubdirectory("clouddeck-email-bench-").FullName;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CloudDeck:Auth:LogOutbox"] = "false",
            ["CloudDeck:Email:Smtp:Host"] = "127.0.0.1",
            ["CloudDeck:Email:Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CloudDeck:Email:Smtp:Security"] = "None",
            ["CloudDeck:Email:Smtp:From"] = "CloudDeck <noreply@bench.test>",
        }).Build();
        var path = Path.Combine(directory, "clouddeck.db");
        try
        {
            await using (var silo = await TestSilo.StartAsync(s =>
                         {
                             s.AddSqliteGrainStorageAsDefault(o => o.DatabasePath = path);
                             s.UseSqliteReminders(o => o.DatabasePath = path);
                             s.AddLogStreams();
                             s.UseSqliteLogStore(path + ".streams");
                             s.Services.AddCloudDeckAccounts(configuration, directory);
                             s.Services.AddCloudDeckMail(configuration, directory);
                         }))
            {
                var grains = silo.GrainFactory;
                var now = DateTimeOffset.UtcNow;
                // Warm-up: one message, so activation of the code paths is not in the figure.
                await Enqueue(grains, "warmup@bench.test", now);
                await smtp.WaitForCountAsync(1, Timeout);

                var clock = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, Messages).Select(i => Enqueue(grains, $"user{i}@bench.test", now)));
                await smtp.WaitForCountAsync(1 + Messages, Timeout);
                var outbox = Messages / clock.Elapsed.TotalSeconds;

                // Baseline: MailKit alone, one session per message like the outbox, the same server.
                clock.Restart();
                using var gate = new SemaphoreSlim(Concurrency);
                await Task.WhenAll(Enumerable.Range(0, Messages).Select(async i =>
                {
                    await gate.WaitAsync();
                    try
                    {
                        using var client = new SmtpClient();
                        await client.ConnectAsync("127.0.0.1", smtp.Port, SecureSocketOptions.None);
                        var message = new MimeMessage { Subject = "Direct", Body = new TextPart("plain") { Text = "Direct." } };
                        message.From.Add(MailboxAddress.Parse("noreply@bench.test"));
                        message.To.Add(MailboxAddress.Parse($"direct{i}@bench.test"));
                        await client.SendAsync(message);
                        await client.DisconnectAsync(true);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
                await smtp.WaitForCountAsync(1 + 2 * Messages, Timeout);
                return (outbox, Messages / clock.Elapsed.TotalSeconds);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Task Enqueue(IGrainFactory grains, string to, DateTimeOffset now) =>
        grains.GetGrain<IOutboxGrain>(to).Enqueue(new OutboxMessage(OutboxKinds.EmailVerification, to, "Verify your CloudDeck email address",
            "Confirm that this address is yours by opening the link below.\n\nhttp://localhost:8080/verify-email?token=bench\n",
            "http://localhost:8080/verify-email?token=bench", now));
}
