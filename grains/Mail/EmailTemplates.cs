using System.Net;
using System.Text;
using CloudDeck.GrainInterfaces.Mail;

namespace CloudDeck.Grains.Mail;

/// <summary>A message's two bodies, as sent.</summary>
public sealed record RenderedEmail(string Subject, string Text, string Html);

/// <summary>
/// The plain-text and HTML bodies of each kind of email. The callers' <see cref="OutboxMessage.Body"/> is the text (it
/// names organizations, people and invoices, all user-provided), so the HTML encodes every piece of it; the link becomes
/// a button whose label says what it does. An unknown kind (a new one from another part of CloudDeck) still goes out
/// with the generic template.
/// </summary>
public static class EmailTemplates
{
    private static readonly Template Generic = new("Open CloudDeck", "You receive this email because of your CloudDeck account.");

    private static readonly Dictionary<string, Template> ByKind = new(StringComparer.Ordinal)
    {
        [OutboxKinds.EmailVerification] = new("Verify my email address",
            "If you did not create a CloudDeck account, ignore this email: without the link nobody can confirm this address."),
        [OutboxKinds.PasswordReset] = new("Choose a new password",
            "The link works once and expires soon. If you did not ask for it, your password is unchanged and you can ignore this email."),
        [OutboxKinds.Invitation] = new("See the invitation",
            "You can accept or decline after signing in with this address. If you do not know the sender, ignore this email."),
        [OutboxKinds.SignUpAttempt] = new("Sign in",
            "No account was created and nothing changed."),
        [OutboxKinds.BillingPaymentFailed] = new("Update the payment method",
            "You receive this email as an owner of the organization."),
        [OutboxKinds.BillingSuspended] = new("Pay the open invoice",
            "You receive this email as an owner of the organization."),
        [OutboxKinds.BillingRestored] = new("See billing",
            "You receive this email as an owner of the organization."),
    };

    public static bool IsKnown(string kind) => ByKind.ContainsKey(kind);

    public static RenderedEmail Render(OutboxMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var template = ByKind.GetValueOrDefault(message.Kind, Generic);
        var paragraphs = Paragraphs(message.Body).Where(p => !string.Equals(p, message.Link, StringComparison.Ordinal)).ToList();
        var hasLink = !string.IsNullOrWhiteSpace(message.Link);

        var text = new StringBuilder();
        foreach (var paragraph in paragraphs) text.Append(paragraph).Append("\n\n");
        if (hasLink) text.Append(template.Action).Append(":\n").Append(message.Link).Append("\n\n");
        text.Append("-- \n").Append(template.Footer).Append('\n');

        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").Append(Encode(message.Subject)).Append("</title></head>\n")
            .Append("<body style=\"font-family:system-ui,sans-serif;line-height:1.5;color:#111;max-width:36em;margin:2em auto\">\n")
            .Append("<h1 style=\"font-size:1.25em\">").Append(Encode(message.Subject)).Append("</h1>\n");
        foreach (var paragraph in paragraphs)
        {
            html.Append("<p>").Append(Encode(paragraph).Replace("\n", "<br>\n", StringComparison.Ordinal)).Append("</p>\n");
        }

        if (hasLink)
        {
            var href = Encode(message.Link);
            html.Append("<p><a href=\"").Append(href).Append("\" style=\"display:inline-block;padding:.6em 1.2em;background:#111;color:#fff;")
                .Append("text-decoration:none;border-radius:6px\">").Append(Encode(template.Action)).Append("</a></p>\n")
                .Append("<p style=\"font-size:.85em;color:#555\">Or paste this address into your browser:<br>").Append(href).Append("</p>\n");
        }

        html.Append("<hr><p style=\"font-size:.85em;color:#555\">").Append(Encode(template.Footer)).Append("</p>\n</body></html>\n");
        return new RenderedEmail(message.Subject, text.ToString(), html.ToString());
    }

    private static IEnumerable<string> Paragraphs(string body) =>
        body.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string Encode(string value) => WebUtility.HtmlEncode(value);

    private sealed record Template(string Action, string Footer);
}
