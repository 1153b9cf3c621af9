using System.Net;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.GrainInterfaces.Mail;

namespace CloudDeck.Api.Tests.Email;

/// <summary>
/// Verification, reset and invitation emails through a real SMTP server (nodemailer's smtp-server, run by node): each
/// arrives with both bodies and a stable Message-ID, the test takes the link out of the received text, opens it the way
/// the dashboard page does (its token, posted to the API), and the flow completes.
/// </summary>
public sealed class EmailDeliveryTests
{
    public EmailDeliveryTests() => Need.Component(NodeHarness.MissingReason);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Verification_email_reaches_a_real_smtp_server_and_its_link_verifies_the_address()
    {
        await using var smtp = await SmtpTestServer.StartAsync(cancellationToken: Cancellation);
        await using var api = SmtpHost.Api(smtp.Port);
        var ada = await api.SignUpAndLoginAsync("ada@example.com");

        var received = await smtp.WaitForAsync("ada@example.com", "X-CloudDeck-Kind: email-verification", SmtpHost.MailTimeout, Cancellation);
        var message = SmtpHost.Parse(received);
        Assert.Equal("noreply@clouddeck.test", received.From);
        Assert.Equal("Verify your CloudDeck email address", message.Subject);
        var link = SmtpHost.LinkIn(message);
        Assert.Equal("/verify-email", link.AbsolutePath);
        Assert.Contains(WebUtility.HtmlEncode(link.ToString()), message.HtmlBody, StringComparison.Ordinal);
        Assert.False((await api.GetAsync("/api/v1/me", ada.AccessToken)).Expect(HttpStatusCode.OK)["email_verified"]!.GetValue<bool>());

        (await api.PostAsync("/api/v1/auth/verify-email", new { token = SmtpHost.TokenOf(link) })).Expect(HttpStatusCode.NoContent);

        Assert.True((await api.GetAsync("/api/v1/me", ada.AccessToken)).Expect(HttpStatusCode.OK)["email_verified"]!.GetValue<bool>());
        var delivery = Assert.Single(await SmtpHost.DeliveriesAsync(api, ada, OutboxKinds.EmailVerification));
        Assert.Equal("delivered", delivery["status"]!.GetValue<string>());
        Assert.Equal(message.MessageId, delivery["message_id"]!.GetValue<string>());
        Assert.True(delivery["delivered_at"]!.GetValue<DateTimeOffset>() >= message.Date, delivery.ToJsonString());
        Assert.DoesNotContain("token", delivery.ToJsonString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Password_reset_email_reaches_a_real_smtp_server_and_its_link_sets_the_new_password()
    {
        await using var smtp = await SmtpTestServer.StartAsync(cancellationToken: Cancellation);
        await using var api = SmtpHost.Api(smtp.Port);
        var ada = await api.SignUpAndLoginAsync("ada@example.com");

        (await api.PostAsync("/api/v1/auth/password-reset", new { email = "ada@example.com" })).Expect(HttpStatusCode.Accepted);
        var message = SmtpHost.Parse(await smtp.WaitForAsync("ada@example.com", "X-CloudDeck-Kind: password-reset", SmtpHost.MailTimeout, Cancellation));
        var link = SmtpHost.LinkIn(message);
        Assert.Equal("/reset-password", link.AbsolutePath);
        Assert.Contains("Choose a new password", message.HtmlBody, StringComparison.Ordinal);

        const string newPassword = "the password from the email";
        (await api.PostAsync("/api/v1/auth/password-reset/confirm", new { token = SmtpHost.TokenOf(link), new_password = newPassword }))
            .Expect(HttpStatusCode.NoContent);

        (await api.PostAsync("/api/v1/auth/login", new { email = ada.Email, password = ada.Password })).Expect(HttpStatusCode.Unauthorized);
        ada.Password = newPassword;
        await api.LoginAsync(ada);
        // The reset link reached the mailbox, which is what verification proves.
        Assert.True((await api.GetAsync("/api/v1/me", ada.AccessToken)).Expect(HttpStatusCode.OK)["email_verified"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Invitation_email_reaches_a_real_smtp_server_and_its_link_joins_the_organization()
    {
        await using var smtp = await SmtpTestServer.StartAsync(cancellationToken: Cancellation);
        await using var api = SmtpHost.Api(smtp.Port);
        var owner = await api.SignUpAndLoginAsync("owner@acme.test");
        await VerifyFromMailboxAsync(api, smtp, owner);
        // The organization's name is the owner's text: the HTML body must carry it encoded.
        (await api.PostAsync("/api/v1/orgs", new { slug = "acme", name = "Acme <b>&</b> Co" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        var dev = await api.SignUpAndLoginAsync("dev@acme.test");
        await VerifyFromMailboxAsync(api, smtp, dev);

        (await api.PostAsync("/api/v1/orgs/acme/invitations", new { email = dev.Email, role = "developer" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        var message = SmtpHost.Parse(await smtp.WaitForAsync(dev.Email, "X-CloudDeck-Kind: invitation", SmtpHost.MailTimeout, Cancellation));
        Assert.Contains("Acme &lt;b&gt;&amp;&lt;/b&gt; Co", message.HtmlBody, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>&</b>", message.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("Acme <b>&</b> Co", message.TextBody, StringComparison.Ordinal);
        var link = SmtpHost.LinkIn(message);
        Assert.Equal("/invitations", link.AbsolutePath);

        (await api.PostAsync("/api/v1/invitations/accept", new { token = SmtpHost.TokenOf(link) }, dev.AccessToken)).Expect(HttpStatusCode.OK);

        (await api.GetAsync("/api/v1/orgs/acme", dev.AccessToken)).Expect(HttpStatusCode.OK);
    }

    /// <summary>Verifies from the received email, then refreshes so the access token says so.</summary>
    private static async Task VerifyFromMailboxAsync(InProcessApi api, SmtpTestServer smtp, Account account)
    {
        var message = SmtpHost.Parse(await smtp.WaitForAsync(account.Email, "X-CloudDeck-Kind: email-verification", SmtpHost.MailTimeout, Cancellation));
        (await api.PostAsync("/api/v1/auth/verify-email", new { token = SmtpHost.TokenOf(SmtpHost.LinkIn(message)) })).Expect(HttpStatusCode.NoContent);
        await api.LoginAsync(account);
    }
}
