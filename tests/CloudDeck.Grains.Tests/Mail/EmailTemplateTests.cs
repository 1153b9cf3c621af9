using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.Grains.Mail;

namespace CloudDeck.Grains.Tests.Mail;

public sealed class EmailTemplateTests
{
    private static readonly DateTimeOffset Created = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Html_bodies_encode_user_provided_values_and_the_link_while_the_text_body_keeps_them_as_written()
    {
        const string link = "http://localhost:8080/invitations?token=cdi_a.b.c&x=<y>";
        var message = new OutboxMessage(OutboxKinds.Invitation, "dev@example.com", "mallory@example.com invited you to <script>alert(1)</script>",
            $"You are invited to join \"Evil\" <img src=x onerror=alert(1)> & co as developer.\n\n{link}\n", link, Created);

        var rendered = EmailTemplates.Render(message);

        Assert.DoesNotContain("<script>", rendered.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", rendered.Html, StringComparison.Ordinal);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt; &amp; co", rendered.Html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", rendered.Html, StringComparison.Ordinal);
        Assert.Contains("href=\"http://localhost:8080/invitations?token=cdi_a.b.c&amp;x=&lt;y&gt;\"", rendered.Html, StringComparison.Ordinal);
        Assert.Contains(">See the invitation</a>", rendered.Html, StringComparison.Ordinal);
        Assert.Contains("\"Evil\" <img src=x onerror=alert(1)> & co", rendered.Text, StringComparison.Ordinal);
        Assert.Contains($"See the invitation:\n{link}\n", rendered.Text, StringComparison.Ordinal);
        // The link is in each body once as a link, not also as a leftover paragraph.
        Assert.Equal(1, CountOf(rendered.Text, link));
    }

    [Theory]
    [InlineData(OutboxKinds.EmailVerification, "Verify my email address")]
    [InlineData(OutboxKinds.PasswordReset, "Choose a new password")]
    [InlineData(OutboxKinds.Invitation, "See the invitation")]
    [InlineData(OutboxKinds.BillingPaymentFailed, "Update the payment method")]
    [InlineData(OutboxKinds.BillingSuspended, "Pay the open invoice")]
    [InlineData(OutboxKinds.BillingRestored, "See billing")]
    [InlineData("deploy-failed", "Open CloudDeck")]
    public void Each_kind_has_its_action_and_an_unknown_kind_still_renders_with_the_generic_one(string kind, string action)
    {
        var message = new OutboxMessage(kind, "ada@example.com", "Subject", "Body text.\n\nhttps://clouddeck.example/x\n", "https://clouddeck.example/x", Created);

        var rendered = EmailTemplates.Render(message);

        Assert.Contains($">{action}</a>", rendered.Html, StringComparison.Ordinal);
        Assert.StartsWith("Body text.\n\n" + action + ":\nhttps://clouddeck.example/x\n", rendered.Text, StringComparison.Ordinal);
        Assert.Equal(kind != "deploy-failed", EmailTemplates.IsKnown(kind));
    }

    private static int CountOf(string text, string value) => (text.Length - text.Replace(value, "", StringComparison.Ordinal).Length) / value.Length;
}
