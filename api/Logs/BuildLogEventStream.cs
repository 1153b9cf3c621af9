using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace CloudDeck.Api.Logs;

/// <summary>
/// What a followed log's events say. A build's log names its build and ends with the build's final status; a server's
/// runtime log names its deployment and never ends (<see cref="Completed"/> is null), so it is followed until the client goes.
/// </summary>
/// <param name="Id">The build or deployment id, for the server's own log lines.</param>
/// <param name="Line">The data of a <c>line</c> event.</param>
/// <param name="Error">The data of an <c>error</c> event, from its message.</param>
/// <param name="Completed">The data of the <c>completed</c> event once the stream completes; null for a log that never does.</param>
public sealed record FollowedLog(
    string Id,
    ILogStream<BuildLogLine> Log,
    Func<LogItem<BuildLogLine>, object> Line,
    Func<string, object> Error,
    Func<Task<object>>? Completed);

/// <summary>
/// A log as Server-Sent Events: <c>id: &lt;line&gt;</c>, <c>event: line</c>, <c>data: {json}</c> per line, then (for a
/// log that completes) <c>event: completed</c> with the final status, and a comment every heartbeat interval while
/// nothing else is sent. The subscription hands over whole batches through a small bounded channel; this loop writes
/// each batch and flushes once, and is the only writer of the response, so heartbeats never interleave with a line.
/// When <paramref name="accessEnded"/> answers (the caller may no longer read the log) the stream sends an <c>error</c>
/// event saying why and ends.
/// </summary>
/// <param name="accessEnded">Completes with the reason once the caller's access to the log has ended (<see cref="LogAccess"/>).</param>
public sealed class BuildLogEventStream(FollowedLog followed, long from, Func<CancellationToken, Task<string>> accessEnded, BuildLogOptions options,
    ILogger logger) : IResult
{
    public const string ContentType = "text/event-stream";

    /// <summary>A build's log, ending with the build's status (checked again for the caller: access may have been revoked).</summary>
    public BuildLogEventStream(OpenedBuildLog opened, long from, Caller caller, BuildLogSource source, Func<CancellationToken, Task<string>> accessEnded,
        BuildLogOptions options, ILogger logger)
        : this(ForBuild(opened, caller, source), from, accessEnded, options, logger)
    {
    }

    private static FollowedLog ForBuild(OpenedBuildLog opened, Caller caller, BuildLogSource source)
    {
        var buildId = opened.Build.Id;
        return new FollowedLog(buildId, opened.Log,
            item => BuildLogLineMessage.From(buildId, item),
            message => new BuildLogErrorMessage(buildId, message),
            async () => new BuildLogCompletedMessage(buildId, await source.StatusAsync(caller, buildId)));
    }

    // Non-ASCII text as UTF-8 rather than \u escapes: the stream is never embedded in HTML, and logs are mostly text.
    private static readonly JsonWriterOptions Writer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    public async Task ExecuteAsync(HttpContext http)
    {
        var aborted = http.RequestAborted;
        var response = http.Response;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-cache";
        // nginx buffers proxied responses unless told not to; a log that arrives in bursts of 4 KiB is not live.
        response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var batches = Channel.CreateBounded<LogItem<BuildLogLine>[]>(new BoundedChannelOptions(4) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        // Ends the response loop when access ends; the reason is read only after the loop saw this token cancelled.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        string? endedBecause = null;
        var watch = WatchAccessAsync(reason => endedBecause = reason, ended, stop.Token);
        var subscription = await followed.Log.SubscribeAsync(new ChannelObserver(batches.Writer, stop.Token), new LogPosition(from));
        var body = response.BodyWriter;
        var json = new Utf8JsonWriter(body, Writer);
        // The API's one JSON contract (ApiJson), as for every other body.
        var contract = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var following = ended.Token;
        try
        {
            // Tells EventSource to reconnect after 1 s (not its default 3 s) when the connection drops.
            Write(body, "retry: 1000\n\n"u8);
            await body.FlushAsync(following);
            while (await NextAsync(batches.Reader, body, following))
            {
                while (batches.Reader.TryRead(out var batch))
                {
                    foreach (var item in batch) WriteLine(body, json, contract, item.Position.SequenceNumber, followed.Line(item));
                }

                await body.FlushAsync(following);
            }

            if (followed.Completed is { } completed)
            {
                WriteEvent(body, json, contract, BuildLogMessageNames.Completed, await completed());
                await body.FlushAsync(aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away; it resumes with Last-Event-ID.
        }
        catch (OperationCanceledException) when (endedBecause is { } reason)
        {
            // Not resumable: a reconnect is authorized afresh, and refused.
            WriteEvent(body, json, contract, BuildLogMessageNames.Error, followed.Error(reason));
            await body.FlushAsync(aborted);
        }
        catch (Exception e) when (e is NotFoundException or ChannelClosedException && !aborted.IsCancellationRequested)
        {
            logger.LogWarning(e, "Following the log of {LogId} failed", followed.Id);
            WriteEvent(body, json, contract, BuildLogMessageNames.Error, followed.Error(
                e is NotFoundException ? e.Message : "Following this log failed; reconnect with Last-Event-ID to resume."));
            await body.FlushAsync(CancellationToken.None);
        }
        finally
        {
            await stop.CancelAsync();
            await subscription.DisposeAsync();
            await watch;
            await json.DisposeAsync();
        }
    }

    /// <summary>Waits for access to end; then records why and cancels <paramref name="ended"/>. Ends quietly when the follow stops first.</summary>
    private async Task WatchAccessAsync(Action<string> record, CancellationTokenSource ended, CancellationToken stop)
    {
        try
        {
            var reason = await accessEnded(stop);
            record(reason);
            await ended.CancelAsync();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Watching access to the log of {LogId} failed", followed.Id);
        }
    }

    /// <summary>Waits for the next batch, writing a heartbeat comment each time the interval passes without one.</summary>
    /// <returns>false when the log completed and every batch was read.</returns>
    private async Task<bool> NextAsync(ChannelReader<LogItem<BuildLogLine>[]> reader, PipeWriter body, CancellationToken following)
    {
        while (true)
        {
            using var quiet = CancellationTokenSource.CreateLinkedTokenSource(following);
            quiet.CancelAfter(options.HeartbeatInterval);
            try
            {
                return await reader.WaitToReadAsync(quiet.Token);
            }
            catch (OperationCanceledException) when (!following.IsCancellationRequested)
            {
                Write(body, ": heartbeat\n\n"u8);
                await body.FlushAsync(following);
            }
        }
    }

    private static void WriteLine(PipeWriter body, Utf8JsonWriter json, JsonSerializerOptions contract, long number, object line)
    {
        Write(body, "id: "u8);
        var span = body.GetSpan(20);
        Utf8Formatter.TryFormat(number, span, out var written);
        body.Advance(written);
        Write(body, "\n"u8);
        WriteEvent(body, json, contract, BuildLogMessageNames.Line, line);
    }

    private static void WriteEvent(PipeWriter body, Utf8JsonWriter json, JsonSerializerOptions contract, string name, object data)
    {
        Write(body, "event: "u8);
        Write(body, System.Text.Encoding.UTF8.GetBytes(name));
        // JSON on one line: strings escape their line breaks, so one data field carries the whole value.
        Write(body, "\ndata: "u8);
        json.Reset(body);
        // By the runtime type: the messages differ between build and runtime logs.
        JsonSerializer.Serialize(json, data, data.GetType(), contract);
        json.Flush();
        Write(body, "\n\n"u8);
    }

    private static void Write(PipeWriter body, ReadOnlySpan<byte> bytes) => body.Write(bytes);

    /// <summary>Hands each delivered batch to the response loop; waits while the loop is behind, so the subscription is paced by the client.</summary>
    private sealed class ChannelObserver(ChannelWriter<LogItem<BuildLogLine>[]> writer, CancellationToken stop) : ILogObserver<BuildLogLine>
    {
        public Task OnNextAsync(BuildLogLine item, LogPosition token) => OnNextBatchAsync([new LogItem<BuildLogLine>(item, token)]);

        public async Task OnNextBatchAsync(IReadOnlyList<LogItem<BuildLogLine>> items)
        {
            try
            {
                // Copied: the list is the subscription's, and the response loop reads it after this call returns.
                await writer.WriteAsync([.. items], stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }

        public Task OnCompletedAsync()
        {
            writer.TryComplete();
            return Task.CompletedTask;
        }

        public Task OnErrorAsync(Exception error)
        {
            writer.TryComplete(new ChannelClosedException(error));
            return Task.CompletedTask;
        }
    }
}
