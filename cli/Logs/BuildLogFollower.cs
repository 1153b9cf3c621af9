using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using CloudDeck.Cli.Api;

namespace CloudDeck.Cli.Logs;

/// <summary>A line of a build's log or of a server's runtime log.</summary>
public sealed record LogLine(long Number, string? Stream, string Text);

/// <summary>
/// Follows a build's log over SSE (<c>GET /api/v1/builds/{id}/logs?follow=true</c>) until its <c>completed</c> event,
/// or a server's runtime log (<c>GET /api/v1/deployments/{id}/logs/runtime?follow=true</c>, which never completes)
/// until cancelled, reconnecting with Last-Event-ID when the connection drops, so every line is printed once, in order,
/// even across a proxy's idle timeout or an API restart.
/// </summary>
public sealed class BuildLogFollower(ApiClient api)
{
    /// <summary>Consecutive failed connections tolerated; any line received resets the count.</summary>
    public int MaxReconnects { get; init; } = 30;

    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <returns>The build's final status (from the completed event).</returns>
    public async Task<string> FollowAsync(string buildId, Action<LogLine> onLine, CancellationToken cancellationToken) =>
        await FollowAsync($"api/v1/builds/{Uri.EscapeDataString(buildId)}/logs?follow=true", $"build {buildId}", completes: true, onLine, cancellationToken)
        ?? "unknown";

    /// <summary>Prints a server deployment's runtime log from its start, then live lines until <paramref name="cancellationToken"/> fires.</summary>
    public async Task FollowRuntimeAsync(string deploymentId, Action<LogLine> onLine, CancellationToken cancellationToken)
    {
        try
        {
            await FollowAsync($"api/v1/deployments/{Uri.EscapeDataString(deploymentId)}/logs/runtime?follow=true", $"deployment {deploymentId}",
                completes: false, onLine, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C is how following a runtime log ends: not an error, so no "interrupted" line (the exit code is still 130).
        }
    }

    /// <param name="completes">Whether the log ends with a <c>completed</c> event; one that does not is followed until cancelled.</param>
    /// <returns>The status of the completed event.</returns>
    private async Task<string?> FollowAsync(string path, string what, bool completes, Action<LogLine> onLine, CancellationToken cancellationToken)
    {
        long last = 0;
        var failures = 0;
        string? lastProblem = null;
        while (true)
        {
            var parser = new SseParser();
            var progressed = false;
            try
            {
                using var response = await api.SendAsync(() =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Get, ApiClient.Relative(path));
                    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
                    if (last > 0) request.Headers.Add("Last-Event-ID", last.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    return request;
                }, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                await foreach (var message in parser.ReadAsync(body, cancellationToken))
                {
                    switch (message.Event)
                    {
                        case "line":
                            var line = ParseLine(message);
                            // A resumed stream never repeats a line; this guards against a server that does anyway.
                            if (line.Number > 0 && line.Number <= last) continue;
                            if (line.Number > 0) last = line.Number;
                            progressed = true;
                            onLine(line);
                            break;
                        case "completed":
                            return Fields.Text(Json(message), "status") ?? "unknown";
                        case "error":
                            lastProblem = Fields.Text(Json(message), "message");
                            break;
                    }
                }

                lastProblem ??= completes ? "the log stream ended before the build completed" : "the log stream ended";
            }
            catch (ApiException e) when (e.Status is HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout)
            {
                lastProblem = e.Message;
            }
            catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                lastProblem = e.Message;
            }

            failures = progressed ? 0 : failures + 1;
            if (failures > MaxReconnects)
            {
                throw new ApiException(HttpStatusCode.ServiceUnavailable, $"lost the log of {what}: {lastProblem}");
            }

            await Task.Delay(parser.Retry is { } retry && retry < TimeSpan.FromSeconds(10) ? retry : ReconnectDelay, cancellationToken);
        }
    }

    /// <summary>The whole log so far as text (<c>GET /api/v1/builds/{id}/logs</c>).</summary>
    public Task<string> ReadAsync(string buildId, CancellationToken cancellationToken) =>
        ReadTextAsync($"api/v1/builds/{Uri.EscapeDataString(buildId)}/logs", cancellationToken);

    /// <summary>A server deployment's runtime log so far as text (<c>GET /api/v1/deployments/{id}/logs/runtime</c>).</summary>
    public Task<string> ReadRuntimeAsync(string deploymentId, CancellationToken cancellationToken) =>
        ReadTextAsync($"api/v1/deployments/{Uri.EscapeDataString(deploymentId)}/logs/runtime", cancellationToken);

    private async Task<string> ReadTextAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await api.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, ApiClient.Relative(path)),
            HttpCompletionOption.ResponseContentRead, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    public static LogLine ParseLine(ServerSentEvent message)
    {
        var data = Json(message);
        var number = Fields.Number(data, "line")
                     ?? (long.TryParse(message.Id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) ? id : 0);
        return new LogLine(number, Fields.Text(data, "stream"), Fields.Text(data, "text") ?? message.Data);
    }

    private static JsonNode? Json(ServerSentEvent message)
    {
        try
        {
            return JsonNode.Parse(message.Data);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
