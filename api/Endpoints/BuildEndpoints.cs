using System.Globalization;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Logs;
using CloudDeck.Api.OpenApi;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Builds;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// <c>/api/v1/builds</c>: a build and its log. The log is plain text, or with <c>?follow=true</c> (or
/// <c>Accept: text/event-stream</c>) Server-Sent Events whose ids are line numbers, so a client that reconnects with
/// <c>Last-Event-ID</c> resumes at the next line.
/// </summary>
public static class BuildEndpoints
{
    public const string LastEventIdHeader = "Last-Event-ID";

    public static RouteGroupBuilder MapBuildEndpoints(this RouteGroupBuilder api)
    {
        var builds = api.MapGroup("/builds").SignedIn().WithTags("Builds").Refuses(400, 404);
        builds.MapGet("/{id}", async (string id, HttpContext http, BuildLogSource source) =>
            Results.Ok((await source.OpenAsync(http.Caller(), id, "id")).Build))
            .Describe("getBuild", "A build: status, timings, its deployment").Answers<BuildView>();
        builds.MapGet("/{id}/logs", GetLogAsync)
            .Describe("getBuildLog", "A build's log: text, or followed live as Server-Sent Events",
                "Plain text, or with ?follow=true (or Accept: text/event-stream) Server-Sent Events whose ids are line numbers; reconnect with Last-Event-ID to resume.")
            .AnswersLog();
        return api;
    }

    private static async Task<IResult> GetLogAsync(
        string id, string? follow, HttpContext http, BuildLogSource source, LogAccess access, BuildLogOptions options, ILoggerFactory loggers)
    {
        var following = Following(follow, http.Request.Headers.Accept.ToString());
        var lastEventId = LastEventId(http.Request.Headers[LastEventIdHeader].ToString());
        var caller = http.Caller();
        // A follow lasts: it starts only for a login or API token still live, and ends when access does.
        if (following) await access.EnsureSignedInAsync(http.User);
        var opened = await source.OpenAsync(caller, id, "id");
        if (!following)
        {
            return new BuildLogText(opened, options.ReadPageSize);
        }

        var from = opened.StartAt(lastEventId + 1, LastEventIdHeader);
        var user = http.User;
        return new BuildLogEventStream(opened, from, caller, source,
            stop => access.WaitUntilEndedAsync(user, caller, reader => source.StatusAsync(reader, id), id, stop),
            options, loggers.CreateLogger(typeof(BuildLogEventStream)));
    }

    /// <summary><c>?follow=true|false</c> decides; without it, asking for <c>text/event-stream</c> means follow.</summary>
    internal static bool Following(string? follow, string accept) => follow switch
    {
        null => accept.Contains(BuildLogEventStream.ContentType, StringComparison.OrdinalIgnoreCase),
        _ when bool.TryParse(follow, out var value) => value,
        _ => throw new InvalidFieldException("follow", "must be true or false"),
    };

    /// <summary>The last line the client has (0 when it has none): the SSE reconnection header, a line number.</summary>
    internal static long LastEventId(string header)
    {
        if (string.IsNullOrWhiteSpace(header)) return 0;
        if (!long.TryParse(header.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var line))
        {
            throw new InvalidFieldException(LastEventIdHeader, "must be a line number (the id of the last event received)");
        }

        return line;
    }
}
