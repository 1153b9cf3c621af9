using CloudDeck.Api.Authentication;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Builds;
using Microsoft.AspNetCore.SignalR;

namespace CloudDeck.Api.Logs;

/// <summary>
/// <c>/hubs/logs</c>: <c>JoinBuild(buildId, fromLine)</c> sends that build's <c>line</c> messages from <c>fromLine</c>
/// to this connection, in order, each once, then <c>completed</c> with the build's final status. A connection may follow
/// several builds; following ends with the log, with <c>LeaveBuild</c>, when the connection closes, or with an <c>error</c>
/// message once the caller may no longer read the log (<see cref="LogAccess"/>: removed from the organization, logged
/// out, API token revoked).
/// </summary>
public sealed class LogsHub(BuildLogSource source, BuildLogFollowers followers, LogAccess access) : Hub
{
    public const string Path = "/hubs/logs";

    public async Task<JoinedBuild> JoinBuild(string buildId, long fromLine)
    {
        var user = Context.User!;
        var caller = user.ToCaller(Context.GetHttpContext()?.ClientAddress() ?? "unknown");
        try
        {
            // The connection was authenticated when it opened, perhaps long ago: its login or token must still be live.
            await access.EnsureSignedInAsync(user);
            var opened = await source.OpenAsync(caller, buildId, nameof(buildId));
            var from = opened.StartAt(fromLine, nameof(fromLine));
            await followers.FollowAsync(Context.ConnectionId, user, caller, opened, from);
            return new JoinedBuild(buildId, opened.Build.Status, from, opened.LastLine);
        }
        catch (Exception e) when (e is InvalidFieldException or NotFoundException or ForbiddenException or UnauthenticatedException or TooManyFollowsException)
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
