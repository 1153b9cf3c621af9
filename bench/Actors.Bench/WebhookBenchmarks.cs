using System.Diagnostics;
using System.Text;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.Grains.Notifications;
using CloudDeck.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Actors.Bench;

/// <summary>
/// Webhook deliveries per second to a local receiver (Kestrel on loopback answering 200): events published to an
/// organization whose rules send them to <see cref="Endpoints"/> webhook endpoints, timed from the first publish until
/// the receiver has every delivery; each delivery is stored, signed, POSTed through the checked connection and its
/// attempt recorded (SQLite grain state). Baseline from the same round: the same number of signed POSTs sent straight
/// to the receiver by one HttpClient, as many at once as the endpoints' grains send.
/// </summary>
internal static class WebhookBenchmarks
{
    private const int Endpoints = 10;
    private const int Events = 200;

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        double delivered = 0, direct = 0;
        for (var round = 0; round < options.Rounds; round++)
        {
            var (d, b) = await RoundAsync();
            (delivered, direct) = (Math.Max(delivered, d), Math.Max(direct, b));
        }

        report.Add($"webhook deliveries/s ({Endpoints} endpoints × {Events} events, stored, signed, sent, recorded)", delivered,
            "signed POSTs straight to the receiver, same concurrency", direct);
    }

    private static async Task<(double Delivered, double Direct)> RoundAsync()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var directory = Directory.CreateTempSubdirectory("clouddeck-webhook-bench-").FullName;
        var settings = new Dictionary<string, string?>
        {
            ["CloudDeck:Accounts:SignUpsPerAddress"] = "0",
            ["CloudDeck:Notifications:AllowPrivateWebhookTargets"] = "true",
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        await using var silo = await EmbeddedBenchSilo.StartAsync(directory, configuration);
        var grains = silo.GrainFactory;
        var (owner, org) = await EmbeddedBenchSilo.OwnerAsync(grains, $"bench-{Guid.NewGuid():N}"[..20] + "@webhook.bench");
        var rules = grains.GetGrain<INotificationRulesGrain>(org);
        for (var i = 0; i < Endpoints; i++)
        {
            await rules.Add(owner, new NotificationRuleSpec(NotificationChannels.Webhook, [NotificationEventTypes.DeploymentReady], Url: receiver.Url.AbsoluteUri));
        }

        // Warm-up: one event through every endpoint (activations, connections, JIT).
        await rules.Publish(Event(org));
        await receiver.WaitForSuccessesAsync(Endpoints, TimeSpan.FromMinutes(1));

        var total = Endpoints * Events;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Events; i++) await rules.Publish(Event(org));
        await receiver.WaitForSuccessesAsync(Endpoints + total, TimeSpan.FromMinutes(10));
        var delivered = total / clock.Elapsed.TotalSeconds;

        var body = WebhookBodies.Json(Event(org));
        using var http = new HttpClient();
        using var gate = new SemaphoreSlim(Endpoints * 16);
        clock.Restart();
        await Task.WhenAll(Enumerable.Range(0, total).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                using var request = new HttpRequestMessage(HttpMethod.Post, receiver.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                request.Headers.Add(WebhookHeaders.Timestamp, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
                request.Headers.Add(WebhookHeaders.Signature, WebhookSender.Sign("whsec_bench", timestamp, body));
                using var response = await http.SendAsync(request);
                response.EnsureSuccessStatusCode();
            }
            finally
            {
                gate.Release();
            }
        }));
        var direct = total / clock.Elapsed.TotalSeconds;
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return (delivered, direct);
    }

    private static NotificationEvent Event(string org) => new(NotificationEvent.NewId(), NotificationEventTypes.DeploymentReady, org, "web",
        DateTimeOffset.UtcNow, "Deployment 0123456789abcdef of bench/web (production) is ready",
        new Dictionary<string, string> { ["deployment_id"] = "0123456789abcdef", ["status"] = "ready", ["url"] = "http://0123456789abcdef.localhost:8080" });
}
