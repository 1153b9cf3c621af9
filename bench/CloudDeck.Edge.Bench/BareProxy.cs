using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace CloudDeck.Edge.Bench;

/// <summary>
/// The proxy bench's middle column (<c>--bare-proxy &lt;port&gt; &lt;upstream prefix&gt;</c>, a child process): YARP and
/// the extra hop with nothing of CloudDeck. Kestrel, one terminal delegate calling <see cref="IHttpForwarder.SendAsync"/>
/// with a pooled <see cref="HttpMessageInvoker"/> set up as YARP's documentation shows (the same handler settings as
/// the edge's <c>UpstreamForwarder</c>) and the default transformer. No middleware, no host lookup, no logging below
/// Warning. What the edge costs beyond this is CloudDeck's own. Prints "READY" once it listens.
/// </summary>
internal static class BareProxy
{
    public static async Task<int> RunAsync(int port, string upstreamPrefix)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddHttpForwarder();
        await using var app = builder.Build();
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        }, disposeHandler: true);
        var config = new ForwarderRequestConfig { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };
        var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        app.Run(async http => await forwarder.SendAsync(http, upstreamPrefix, invoker, config, HttpTransformer.Default));
        await app.StartAsync();
        Console.WriteLine("READY");
        // The parent ends this process with SIGTERM.
        var stopped = new TaskCompletionSource();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stopped.TrySetResult();
        });
        await stopped.Task;
        await app.StopAsync();
        return 0;
    }
}
