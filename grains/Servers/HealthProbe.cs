using System.Diagnostics;

namespace CloudDeck.Grains.Servers;

/// <summary>
/// A server's health check: GET the path until it answers 2xx or 3xx (redirects are not followed: a redirect to a
/// login page means the server is up), the instance exits, or the deadline passes. Connection refusals are expected
/// while the server boots and are only retried.
/// </summary>
public static class HealthProbe
{
    private static readonly HttpClient Client = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false, UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30),
        ConnectTimeout = TimeSpan.FromSeconds(2),
    })
    { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Null once healthy; otherwise why not (the exit code, the last answer, or the deadline).</summary>
    public static async Task<string?> WaitAsync(IServerInstance instance, string path, TimeSpan timeout, TimeSpan interval)
    {
        var url = $"http://{instance.Host}:{instance.Port}{path}";
        var watch = Stopwatch.StartNew();
        var last = "no answer";
        while (true)
        {
            if (instance.Exited.IsCompleted)
            {
                return $"The server exited with code {await instance.Exited} before its health check (GET {path}) passed.";
            }

            try
            {
                using var response = await Client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                var code = (int)response.StatusCode;
                if (code is >= 200 and < 400) return null;
                last = $"HTTP {code} {response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                last = e is HttpRequestException { StatusCode: null, InnerException: System.Net.Sockets.SocketException } ? "connection refused" : e.Message;
            }

            if (watch.Elapsed >= timeout)
            {
                return $"The health check GET {path} did not answer 2xx/3xx within {timeout.TotalSeconds:0.#} s (last: {last}).";
            }

            await Task.WhenAny(Task.Delay(interval), instance.Exited);
        }
    }

}
