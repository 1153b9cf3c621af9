using System.Collections.Concurrent;
using CloudDeck.Api.Edge;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>
/// Kestrel on a free loopback port whose every request goes through the edge's real <see cref="UpstreamForwarder"/>
/// to <see cref="Target"/>, ending with the edge's 502 page when it cannot. This is the forwarding half of
/// <see cref="ServerProxy"/> with the endpoint already resolved (the grain-facing half is covered end to end).
/// </summary>
public sealed class ForwardingHost : IAsyncDisposable
{
    public const string DeploymentId = "dpl-proxy-under-test";

    private readonly WebApplication _app;

    private ForwardingHost(WebApplication app, EdgeOptions options)
    {
        _app = app;
        Options = options;
    }

    public EdgeOptions Options { get; }

    /// <summary>The upstream prefix (http://127.0.0.1:port) requests go to.</summary>
    public required string Target { get; set; }

    /// <summary>Where to retry after a refused connection; null (the default) means no retry.</summary>
    public Func<Task<string?>>? RetryAt { get; set; }

    public ConcurrentQueue<ForwardOutcome> Outcomes { get; } = new();

    public Uri Address { get; private set; } = null!;

    public static async Task<ForwardingHost> StartAsync(string target, EdgeOptions? edgeOptions = null)
    {
        var options = edgeOptions ?? new EdgeOptions();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(options);
        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton<UpstreamForwarder>();
        var app = builder.Build();
        var host = new ForwardingHost(app, options) { Target = target };
        var forwarder = app.Services.GetRequiredService<UpstreamForwarder>();
        app.Run(async http =>
        {
            var outcome = await forwarder.ForwardAsync(http, host.Target, host.RetryTargetAsync);
            host.Outcomes.Enqueue(outcome);
            if (outcome != ForwardOutcome.Forwarded && !http.Response.HasStarted)
            {
                await ServerProxy.RespondAsync(http, DeploymentId, outcome, options);
            }
        });
        await app.StartAsync();
        host.Address = new Uri(app.Urls.First());
        return host;
    }

    private Task<string?> RetryTargetAsync() => RetryAt?.Invoke() ?? Task.FromResult<string?>(null);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
