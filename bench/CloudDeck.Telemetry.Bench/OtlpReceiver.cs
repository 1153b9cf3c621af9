using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Telemetry.Bench;

/// <summary>
/// A stand-in for an OpenTelemetry collector (none runs here): Kestrel on loopback taking OTLP/HTTP protobuf POSTs at
/// /v1/traces, /v1/metrics and /v1/logs, counting requests and bytes, answering 200 with an empty export response
/// (a valid protobuf message). The exporter does its whole job (batching, serializing, sending); the bytes are dropped.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _requests;
    private long _bytes;

    private OtlpReceiver(WebApplication app) => _app = app;

    public Uri Endpoint => new(_app.Urls.First());

    public long Requests => Interlocked.Read(ref _requests);

    public long Bytes => Interlocked.Read(ref _bytes);

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (string signal, HttpContext http) =>
        {
            var buffer = new byte[16 * 1024];
            long read = 0;
            int n;
            while ((n = await http.Request.Body.ReadAsync(buffer)) > 0) read += n;
            Interlocked.Increment(ref receiver._requests);
            Interlocked.Add(ref receiver._bytes, read);
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
