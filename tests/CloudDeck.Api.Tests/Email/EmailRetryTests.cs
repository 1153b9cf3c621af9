using System.Net;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.GrainInterfaces.Mail;

namespace CloudDeck.Api.Tests.Email;

/// <summary>
/// What happens when the real SMTP server (smtp-server from npm) is not there, or refuses: a temporary failure waits with
/// backoff (through a restart of the API), a permanent 5xx is recorded with the server's answer, and both show in the
/// recipient's own view of their email.
/// </summary>
public sealed class EmailRetryTests
{
    public EmailRetryTests() => Need.Component(NodeHarness.MissingReason);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_the_smtp_server_down_the_email_waits_through_a_restart_and_goes_out_after_the_server_returns()
    {
        var port = ChildProcess.FreeTcpPort();
        var first = SmtpHost.Api(port);
        var ada = await first.SignUpAndLoginAsync("ada@example.com");

        // Nothing listens on the port: connection refused, a temporary failure, retried.
        var pending = await WaitForDeliveryAsync(first, ada, d => d["attempts"]!.GetValue<int>() >= 2);
        Assert.Equal("pending", pending["status"]!.GetValue<string>());
        Assert.NotNull(pending["next_attempt_at"]);
        Assert.Contains($"127.0.0.1:{port}", pending["last_answer"]!.GetValue<string>(), StringComparison.Ordinal);
        var messageId = pending["message_id"]!.GetValue<string>();

        // The API stops with the message pending; the next one starts on the same data and finds the server back.
        await first.DisposeAsync(keepData: true);
        await using var smtp = await SmtpTestServer.StartAsync(port, cancellationToken: Cancellation);
        await using var second = SmtpHost.Api(port, first.DataDirectory);
        second.Clock.Set(first.Clock.GetUtcNow());
        await second.LoginAsync(ada);

        // Nothing calls the outbox here: its reminder is what brings it back. The clock moves on so the backoff elapses.
        var deadline = DateTime.UtcNow + SmtpHost.MailTimeout;
        while (smtp.Received.Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"The email did not go out after the restart.\n{smtp.Output}");
            second.Clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(200, Cancellation);
        }

        var received = SmtpHost.Parse(await smtp.WaitForAsync(ada.Email, "X-CloudDeck-Kind: email-verification", SmtpHost.MailTimeout, Cancellation));
        Assert.Equal(messageId, received.MessageId);
        var delivered = await WaitForDeliveryAsync(second, ada, d => d["status"]!.GetValue<string>() == "delivered");
        Assert.Equal(messageId, delivered["message_id"]!.GetValue<string>());
        Assert.True(delivered["attempts"]!.GetValue<int>() >= 3, delivered.ToJsonString());
        // The link still works: the flow completes after the outage.
        (await second.PostAsync("/api/v1/auth/verify-email", new { token = SmtpHost.TokenOf(SmtpHost.LinkIn(received)) })).Expect(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task A_permanent_550_rejection_is_recorded_as_failed_with_the_servers_answer_and_shown_to_the_recipient()
    {
        await using var smtp = await SmtpTestServer.StartAsync(reject: "bounce", cancellationToken: Cancellation);
        await using var api = SmtpHost.Api(smtp.Port);
        var bounce = await api.SignUpAndLoginAsync("bounce@example.com");

        var failed = await WaitForDeliveryAsync(api, bounce, d => d["status"]!.GetValue<string>() != "pending");
        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        Assert.Equal(1, failed["attempts"]!.GetValue<int>());
        Assert.StartsWith("550 ", failed["last_answer"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("does not exist here", failed["last_answer"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(failed["next_attempt_at"]?.GetValue<DateTimeOffset?>());
        Assert.Empty(smtp.Received);
        Assert.Contains(api.Logs.Lines, l => l.Contains("email-verification email to bounce@example.com failed for good", StringComparison.Ordinal));

        // Another address on the same server is unaffected.
        await api.SignUpAndLoginAsync("ada@example.com");
        await smtp.WaitForAsync("ada@example.com", "X-CloudDeck-Kind: email-verification", SmtpHost.MailTimeout, Cancellation);
    }

    /// <summary>Polls the account's email view, moving the API's manual clock on so that backoffs elapse.</summary>
    private static async Task<System.Text.Json.Nodes.JsonNode> WaitForDeliveryAsync(InProcessApi api, Account account, Func<System.Text.Json.Nodes.JsonNode, bool> until)
    {
        var deadline = DateTime.UtcNow + SmtpHost.MailTimeout;
        while (true)
        {
            var delivery = (await SmtpHost.DeliveriesAsync(api, account, OutboxKinds.EmailVerification)).FirstOrDefault();
            if (delivery is not null && until(delivery)) return delivery;
            Assert.True(DateTime.UtcNow < deadline, $"The email did not get there in time: {delivery?.ToJsonString() ?? "no email"}");
            api.Clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(200, Cancellation);
        }
    }
}
