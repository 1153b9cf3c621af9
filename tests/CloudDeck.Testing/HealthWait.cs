namespace CloudDeck.Testing;

/// <summary>Waiting for an API process started by a bench or test to answer <c>/healthz</c>.</summary>
public static class HealthWait
{
    /// <summary>Polls <c>healthz</c> every 200 ms for up to a minute.</summary>
    /// <exception cref="InvalidOperationException">The process exited or never answered 2xx; the message carries its output.</exception>
    public static async Task UntilHealthyAsync(HttpClient http, ChildProcess process)
    {
        for (var attempt = 0; attempt < 300 && !process.HasExited; attempt++)
        {
            try
            {
                using var health = await http.GetAsync(new Uri("healthz", UriKind.Relative));
                if (health.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        throw new InvalidOperationException($"CloudDeck.Api did not start:\n{process.Output}");
    }
}
