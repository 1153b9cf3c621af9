using System.Security.Claims;
using CloudDeck.Api.Authentication;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Accounts;

namespace CloudDeck.Api.Logs;

/// <summary>
/// Whether a caller following a log may still read it. A follow outlives the request (or hub call) that authorized it,
/// so it is asked again every <see cref="BuildLogOptions.AccessCheckInterval"/>: the caller's credential must still be
/// live (its login not logged out or revoked, its API token not revoked) and the log's grain must still let the caller
/// read it (membership in the organization). Access tokens themselves are not re-validated: a follow lasts as long as
/// the login behind it, not the token's fifteen minutes.
/// </summary>
public sealed partial class LogAccess(IGrainFactory grains, BuildLogOptions options, ILogger<LogAccess> logger)
{
    public const string CredentialEnded = "Your session or API token was revoked or has expired: sign in again to follow this log.";

    /// <exception cref="UnauthenticatedException">The login or API token behind <paramref name="user"/> has ended.</exception>
    public async Task EnsureSignedInAsync(ClaimsPrincipal user)
    {
        if (!await IsSignedInAsync(user)) throw new UnauthenticatedException(CredentialEnded);
    }

    /// <summary>
    /// Checks every interval until access ends, and answers why (what the client is told). A check that fails for
    /// another reason than a refusal (a silo restarting) is logged and tried again at the next interval.
    /// </summary>
    /// <param name="read">The log's own check for the caller, which throws <see cref="NotFoundException"/> or <see cref="ForbiddenException"/> when it refuses.</param>
    /// <exception cref="OperationCanceledException">The follow ended first.</exception>
    public async Task<string> WaitUntilEndedAsync(ClaimsPrincipal user, Caller caller, Func<Caller, Task> read, string logId, CancellationToken cancellationToken)
    {
        // Wall-clock time on purpose: this polls other grains; it is not a duration of the domain.
        using var timer = new PeriodicTimer(options.AccessCheckInterval, TimeProvider.System);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            try
            {
                if (!await IsSignedInAsync(user)) return CredentialEnded;
                await read(caller);
            }
            catch (Exception e) when (e is NotFoundException or ForbiddenException or UnauthenticatedException)
            {
                return e.Message;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                LogCheckFailed(e, logId);
            }
        }

        throw new OperationCanceledException(cancellationToken);
    }

    private async Task<bool> IsSignedInAsync(ClaimsPrincipal user)
    {
        var userId = user.FindFirstValue("sub");
        if (userId is null || !UserIds.IsWellFormed(userId)) return false;
        var account = grains.GetGrain<IUserGrain>(userId);
        if (user.FindFirstValue(BearerSchemes.KindClaim) == BearerSchemes.ApiTokenKind)
        {
            return user.FindFirstValue(BearerSchemes.TokenIdClaim) is { } tokenId && await account.IsApiTokenActive(tokenId);
        }

        return user.FindFirstValue(AccessTokens.SessionClaim) is { } sessionId && await account.IsSessionActive(sessionId);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking access to the followed log {LogId} failed; checking again at the next interval")]
    private partial void LogCheckFailed(Exception exception, string logId);
}
