using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Logs.Bench;

/// <summary>
/// The baseline: Kestrel and a bare SignalR hub with the logs hub's shape (<c>JoinBuild</c> → <c>line</c>… →
/// <c>completed</c>), sending lines paced like the synthetic build (a tick every 5 ms sends every line due by then, each
/// batch stamped when it is made). What it lacks is everything CloudDeck adds: grains, the durable stream, its reader.
/// </summary>
internal sealed class BaselineServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BaselineServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<BaselineServer> StartAsync(LogBenchOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSignalR();
        builder.Services.AddSingleton(options);
        var app = builder.Build();
        app.MapHub<BaselineHub>("/hubs/logs");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BaselineServer(app, new Uri(address.TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class BaselineHub(IHubContext<BaselineHub> hub, LogBenchOptions options) : Hub
    {
        private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(5);

        public object JoinBuild(string buildId, long fromLine)
        {
            var client = hub.Clients.Client(Context.ConnectionId);
            _ = Task.Run(() => SendAsync(client, buildId));
            return new { build_id = buildId, status = "building", from_line = fromLine, last_line = 0 };
        }

        private async Task SendAsync(IClientProxy client, string buildId)
        {
            var text = new string('x', options.LineBytes);
            var started = Stopwatch.GetTimestamp();
            var sent = 0;
            while (sent < options.Lines)
            {
                await Task.Delay(Tick);
                var due = (int)Math.Min(options.Lines, Stopwatch.GetElapsedTime(started).TotalSeconds * options.Rate);
                var now = DateTimeOffset.UtcNow;
                while (sent < due)
                {
                    sent++;
                    await client.SendAsync("line", new { build_id = buildId, line = sent, time = now, stream = "stdout", text });
                }
            }

            await client.SendAsync("completed", new { build_id = buildId, status = "succeeded" });
        }
    }
}
