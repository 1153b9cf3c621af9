using System.Collections.Concurrent;
using System.Net;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// Closed-loop GETs of a server app's production URL by a few workers, counting answers by version (a body
/// "hello from {version} ..."), and every failure; for swaps that must fail no request.
/// </summary>
internal sealed class ServerLoadLoop : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _workers;
    private long _completed;

    public ServerLoadLoop(Uri api, string host, int workers, string path = "/")
    {
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = api, Timeout = TimeSpan.FromSeconds(30) };
        _workers = [.. Enumerable.Range(0, workers).Select(_ => Task.Run(() => RunAsync(host, path)))];
    }

    public long Completed => Interlocked.Read(ref _completed);

    public ConcurrentDictionary<string, long> Seen { get; } = new();

    public ConcurrentQueue<string> Failures { get; } = new();

    public string? LastLabel { get; private set; }

    public async Task WaitForAsync(Func<ServerLoadLoop, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!condition(this))
        {
            Assert.True(DateTime.UtcNow < deadline, $"gave up waiting for {what}; {Completed} requests, {Failures.Count} failed");
            Assert.False(_workers.Any(w => w.IsFaulted), "a load worker crashed");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    private async Task RunAsync(string host, string path)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Host = host;
                using var response = await _http.SendAsync(request, _stop.Token);
                var body = await response.Content.ReadAsStringAsync(_stop.Token);
                if (response.StatusCode != HttpStatusCode.OK || !body.StartsWith("hello from ", StringComparison.Ordinal))
                {
                    Failures.Enqueue($"{(int)response.StatusCode}: {body[..Math.Min(body.Length, 300)]}");
                }
                else
                {
                    var label = body["hello from ".Length..].Split(' ')[0];
                    Seen.AddOrUpdate(label, 1, (_, n) => n + 1);
                    LastLabel = label;
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Failures.Enqueue($"{e.GetType().Name}: {e.Message}");
            }

            Interlocked.Increment(ref _completed);
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _http.Dispose();
        _stop.Dispose();
    }
}
