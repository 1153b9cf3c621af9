using System.Net;

namespace CloudDeck.Api.Tests.Accounts;

/// <summary>The notification routes' rows: admins and owners manage them; viewers and developers are refused; an outsider's 404 hides the organization.</summary>
public sealed partial class AuthorizationMatrixTests
{
    private const string NotificationsPath = "/api/v1/orgs/{slug}/notifications";
    private const string AcmeNotifications = "/api/v1/orgs/acme/notifications";

    /// <summary>A well-formed delivery id that acme's webhook log does not hold (the matrix sends no event).</summary>
    private const string UnknownDelivery = "dlv_0123456789abcdef";

    private string? _acmeWebhookRule;

    private static object EmailRule() => new { channel = "email", events = new[] { "deployment.failed" }, roles = new[] { "owner" } };

    private void AddNotificationRows(Dictionary<string, Row> rows)
    {
        rows[$"GET {NotificationsPath}"] = new(Org(403, 403, 200, 200), Fixed(AcmeNotifications));
        rows[$"POST {NotificationsPath}"] = new(Org(403, 403, 201, 201), Fixed(AcmeNotifications, EmailRule()));
        rows[$"GET {NotificationsPath}/{{rule_id}}"] = new(Org(403, 403, 200, 200), async _ => ($"{AcmeNotifications}/{await AcmeWebhookRuleAsync()}", null));
        rows[$"POST {NotificationsPath}/{{rule_id}}/enable"] = new(Org(403, 403, 200, 200), async _ => ($"{AcmeNotifications}/{await AcmeWebhookRuleAsync()}/enable", null));
        rows[$"GET {NotificationsPath}/{{rule_id}}/deliveries"] = new(Org(403, 403, 200, 200),
            async _ => ($"{AcmeNotifications}/{await AcmeWebhookRuleAsync()}/deliveries", null));
        rows[$"POST {NotificationsPath}/{{rule_id}}/deliveries/{{delivery_id}}/redeliver"] = new(Org(403, 403, 404, 404),
            async _ => ($"{AcmeNotifications}/{await AcmeWebhookRuleAsync()}/deliveries/{UnknownDelivery}/redeliver", null));
        rows[$"DELETE {NotificationsPath}/{{rule_id}}"] = new(Org(403, 403, 204, 204), async _ =>
        {
            var created = (await _api.PostAsync(AcmeNotifications, EmailRule(), _owner.AccessToken)).Expect(HttpStatusCode.Created);
            return ($"{AcmeNotifications}/{created["rule"]!.Text("id")}", null);
        });
    }

    /// <summary>A webhook rule of acme's, to a closed loopback port (the matrix's host allows private targets).</summary>
    private async Task<string> AcmeWebhookRuleAsync()
    {
        if (_acmeWebhookRule is not null) return _acmeWebhookRule;
        var created = (await _api.PostAsync(AcmeNotifications, new { channel = "webhook", events = new[] { "deployment.ready" }, url = "http://127.0.0.1:1/hook" },
            _owner.AccessToken)).Expect(HttpStatusCode.Created);
        return _acmeWebhookRule = created["rule"]!.Text("id");
    }
}
