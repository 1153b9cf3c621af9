using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CloudDeck.GrainInterfaces.Servers;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace CloudDeck.Api.Edge;

/// <summary>How one attempt to forward a request to a server deployment ended.</summary>
public enum ForwardOutcome
{
    /// <summary>The upstream answered and its response was relayed (or the client went away meanwhile).</summary>
    Forwarded,

    /// <summary>Nothing was sent either way: the connection was refused (the process stopped or moved); safe to retry.</summary>
    Unreachable,

    /// <summary>The upstream failed before answering (reset, bad response) and the request may have reached it.</summary>
    Failed,

    /// <summary>The upstream did not answer within <see cref="EdgeOptions.ProxyTimeout"/>.</summary>
    TimedOut,
}

/// <summary>
/// Relays one request to a resolved upstream with YARP's <see cref="IHttpForwarder"/>: bodies stream both ways (no
/// buffering), WebSocket upgrades become a two-way tunnel, and X-Forwarded-For/Proto/Host describe the client. One
/// pooled <see cref="HttpMessageInvoker"/> serves every deployment, so keep-alive connections are reused.
/// </summary>
public sealed class UpstreamForwarder : IDisposable
{
    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _invoker;
    private readonly ForwarderRequestConfig _config;

    public UpstreamForwarder(IHttpForwarder forwarder, EdgeOptions options)
    {
        _forwarder = forwarder;
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            // The upstream is a process we started: no system proxy, and the client's cookies, redirects and
            // compression are the client's business, passed through untouched.
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.ProxyConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        }, disposeHandler: true);
        // HTTP/1.1 to the upstream: it is plain http on loopback or the cluster network, where h2c has no gain.
        _config = new ForwarderRequestConfig { ActivityTimeout = options.ProxyTimeout, Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };
    }

    public static string Prefix(ServerEndpoint endpoint) =>
        endpoint.Host.Contains(':', StringComparison.Ordinal) ? $"http://[{endpoint.Host}]:{endpoint.Port}" : $"http://{endpoint.Host}:{endpoint.Port}";

    /// <param name="prefix">The upstream's <c>http://host:port</c>, see <see cref="Prefix"/>.</param>
    public async Task<ForwardOutcome> ForwardAsync(HttpContext http, string prefix)
    {
        var error = await _forwarder.SendAsync(http, prefix, _invoker, _config, ForwardingTransformer.Instance);
        if (error == ForwarderError.None) return ForwardOutcome.Forwarded;
        var exception = http.Features.Get<IForwarderErrorFeature>()?.Exception;
        return error switch
        {
            ForwarderError.RequestTimedOut => ForwardOutcome.TimedOut,
            ForwarderError.Request when IsConnectionRefused(exception) => ForwardOutcome.Unreachable,
            ForwarderError.Request or ForwarderError.RequestCreation => ForwardOutcome.Failed,
            // The client canceled, or the failure came after the response started: YARP has ended the exchange.
            _ => ForwardOutcome.Forwarded,
        };
    }

    /// <summary>
    /// Forwards to <paramref name="prefix"/>; when that upstream refused the connection, and neither a byte of the
    /// response was sent nor the request body read, asks <paramref name="retryAt"/> where the server is now (it
    /// restarted on another port, or was stopped and is started again) and forwards once more.
    /// </summary>
    /// <param name="retryAt">Answers the prefix to retry at, or null not to retry.</param>
    public async Task<ForwardOutcome> ForwardAsync(HttpContext http, string prefix, Func<Task<string?>> retryAt)
    {
        // The app decides how large an upload it takes (Kestrel's default would stop at 30 MB); the edge streams it and holds none of it.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
        var body = ReadTrackingStream.Install(http);
        var outcome = await ForwardAsync(http, prefix);
        if (outcome != ForwardOutcome.Unreachable || http.Response.HasStarted || body?.WasRead == true || http.RequestAborted.IsCancellationRequested) return outcome;
        var next = await retryAt();
        if (next is null) return outcome;
        // YARP answered the failed attempt with a 502 status (not yet sent) and an error feature: start clean.
        http.Features.Set<IForwarderErrorFeature>(null);
        http.Response.StatusCode = StatusCodes.Status200OK;
        return await ForwardAsync(http, next);
    }

    private static bool IsConnectionRefused(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionRefused }) return true;
        }

        return false;
    }

    public void Dispose() => _invoker.Dispose();

    /// <summary>
    /// Copies the request as it came, keeps the original Host (apps build absolute URLs from it) and replaces any
    /// forwarding headers the client sent with what the edge knows: the client address (after the API's
    /// <c>CloudDeck:Http:KnownProxies</c> handling, so a client cannot choose it), the scheme and the host.
    /// </summary>
    private sealed class ForwardingTransformer : HttpTransformer
    {
        public static readonly ForwardingTransformer Instance = new();

        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            var headers = proxyRequest.Headers;
            headers.Remove("Forwarded");
            headers.Remove("X-Forwarded-For");
            headers.Remove("X-Forwarded-Proto");
            headers.Remove("X-Forwarded-Host");
            headers.Remove("X-Forwarded-Prefix");
            if (httpContext.Connection.RemoteIpAddress is { } client)
            {
                headers.TryAddWithoutValidation("X-Forwarded-For", (client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client).ToString());
            }

            headers.TryAddWithoutValidation("X-Forwarded-Proto", httpContext.Request.Scheme);
            var host = httpContext.Request.Host.Value;
            if (!string.IsNullOrEmpty(host))
            {
                headers.TryAddWithoutValidation("X-Forwarded-Host", host);
                headers.Host = host;
            }
        }
    }
}
