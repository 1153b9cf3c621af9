using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using CloudDeck.Testing.Stripe;

namespace CloudDeck.Testing.Tests;

/// <summary>The Stripe fake speaks Stripe's wire format: form bodies, JSON answers, Idempotency-Key, Stripe's error shape.</summary>
public sealed class StripeFakeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Stripe_fake_replays_an_idempotent_request_refuses_other_parameters_under_its_key_and_answers_errors_in_Stripes_shape()
    {
        await using var stripe = await StripeFake.StartAsync();
        using var http = new HttpClient { BaseAddress = stripe.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", StripeFake.SecretKey);

        async Task<(HttpStatusCode Status, JsonNode Body, bool Replayed)> Post(string path, Dictionary<string, string> form, string? key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
            if (key is not null) request.Headers.Add("Idempotency-Key", key);
            using var response = await http.SendAsync(request, Ct);
            return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!, response.Headers.Contains("Idempotent-Replayed"));
        }

        var first = await Post("v1/customers", new() { ["email"] = "a@example.com", ["metadata[clouddeck_org]"] = "acme" }, "key-1");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal("acme", first.Body["metadata"]!["clouddeck_org"]!.GetValue<string>());
        var again = await Post("v1/customers", new() { ["email"] = "a@example.com", ["metadata[clouddeck_org]"] = "acme" }, "key-1");
        Assert.True(again.Replayed);
        Assert.Equal(first.Body["id"]!.GetValue<string>(), again.Body["id"]!.GetValue<string>());
        var other = await Post("v1/customers", new() { ["email"] = "b@example.com" }, "key-1");
        Assert.Equal(HttpStatusCode.BadRequest, other.Status);
        Assert.Equal("idempotency_error", other.Body["error"]!["type"]!.GetValue<string>());

        var customer = first.Body["id"]!.GetValue<string>();
        var meter = new Dictionary<string, string>
        {
            ["event_name"] = "clouddeck_build_minutes", ["identifier"] = "acme.1.2026-12.build_minutes",
            ["payload[stripe_customer_id]"] = customer, ["payload[value]"] = "7",
        };
        Assert.Equal(HttpStatusCode.OK, (await Post("v1/billing/meter_events", meter, null)).Status);
        var duplicate = await Post("v1/billing/meter_events", meter, null);
        Assert.Equal(HttpStatusCode.BadRequest, duplicate.Status);
        Assert.Equal("resource_already_exists", duplicate.Body["error"]!["code"]!.GetValue<string>());
        Assert.Equal("identifier", duplicate.Body["error"]!["param"]!.GetValue<string>());
        Assert.Equal(7, Assert.Single(stripe.MeterEvents).Value);

        var missing = await Post("v1/checkout/sessions", new() { ["mode"] = "subscription", ["customer"] = customer, ["line_items[0][price]"] = "price_nope", ["success_url"] = "http://x/" }, null);
        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.Equal(("invalid_request_error", "resource_missing", "line_items[0][price]"),
            (missing.Body["error"]!["type"]!.GetValue<string>(), missing.Body["error"]!["code"]!.GetValue<string>(), missing.Body["error"]!["param"]!.GetValue<string>()));

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk_test_wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await Post("v1/customers", new() { ["email"] = "c@example.com" }, null)).Status);
    }
}
