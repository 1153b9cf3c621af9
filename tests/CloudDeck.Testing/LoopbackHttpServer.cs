using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Testing;

/// <summary>A real HTTP server for a test's stand-in (a webhook receiver, the Stripe fake): Kestrel on a free loopback port.</summary>
public static class LoopbackHttpServer
{
    /// <summary>Starts Kestrel on 127.0.0.1 with a port the system picks, answering every request with <paramref name="handler"/>.</summary>
    public static async Task<(WebApplication App, Uri Root)> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        return (app, new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single() + "/"));
    }
}
