using CloudDeck.Api.Authentication;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Builds;
using Microsoft.AspNetCore.SignalR;

namespace CloudDeck.Api.Logs;

/// <summary>
/// <c>/hubs/logs</c>: <c>JoinBuild(buildId, fromLine)</c> sends that build's <c>line</c> messages from <c>fromLine</c>
/// to this connection, in order, each once, then <c>completed</c> with the build's final status. A connection may follow
/// several builds; following ends with the log, with <c>LeaveBuild</c>, or when the connection closes.
/// </summary>
public sealed class LogsHub(BuildLogSource source, BuildLogFollowers followers) : Hub
{
    public const string Path = "/hubs/logs";

    public async Task<JoinedBuild> JoinBuild(string buildId, long fromLine)
    {
        var caller = Context.User!.ToCaller(Context.GetHttpContext()?.ClientAddress() ?? "unknown");
        try
        {
            var opened = await source.OpenAsync(caller, buildId, nameof(buildId));
            var from = opened.StartAt(fromLine, nameof(fromLine));
            await followers.FollowAsync(Context.ConnectionId, caller, opened, from);
            return new JoinedBuild(buildId, opened.Build.Status, from, opened.LastLine);
        }
        catch (Exception e) when (e is InvalidFieldException or NotFoundException or ForbiddenException or TooManyFollowsException)
        {
            // Only HubException messages reach the client; these say what was wrong without saying more than a 404 would.
            throw new HubException(e.Message);
        }
    }

    public Task LeaveBuild(string buildId)
    {
        if (!BuildIds.IsWellFormed(buildId)) throw new HubException($"{nameof(buildId)}: {BuildIds.Rule}");
        return followers.UnfollowAsync(Context.ConnectionId, buildId);
    }

    public override Task OnDisconnectedAsync(Exception? exception) => followers.UnfollowAllAsync(Context.ConnectionId);
}
