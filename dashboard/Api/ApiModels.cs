namespace CloudDeck.Dashboard.Api;

// The API's answers as the dashboard reads them (snake_case on the wire). Only the members a page shows: the dashboard
// is a client of the public API and tolerates members it does not know.

public sealed record TokenPair(string AccessToken, DateTimeOffset AccessTokenExpiresAt, string RefreshToken, DateTimeOffset RefreshTokenExpiresAt);

public sealed record LoginAnswer(TokenPair? Tokens, string? MfaChallenge);

public sealed record Membership(string Slug, string Name, string Role);

public sealed record Account(string UserId, string Email, string Name, bool EmailVerified, bool MfaEnabled, IReadOnlyList<Membership> Organizations);

public sealed record Organization(string Slug, string Name, bool Personal, string YourRole, int MemberCount, string Plan);

public sealed record Project(
    string Organization, string Name, string? GitUrl, string? LocalPath, string ProductionBranch, string RootDirectory, string? Framework,
    string? InstallCommand, string? BuildCommand, string? OutputDirectory, string ProductionHost, string? ProductionDeploymentId,
    DateTimeOffset CreatedAt, string? StartCommand = null);

public sealed record Deployment(
    string Id, string Organization, string Project, string Target, string Status, string Url, string? BuildId, string? GitRef,
    string? Branch, string? Commit, string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset? ReadyAt, long Sequence,
    string? Error = null, string? PreviewUrl = null);

public sealed record DeploymentList(IReadOnlyList<Deployment> Items, string? NextCursor);

public sealed record Build(string Id, string Organization, string Project, string Status, DateTimeOffset CreatedAt, string CreatedBy, string? DeploymentId = null);

public sealed record EnvVar(string Environment, string Name, string Value, DateTimeOffset UpdatedAt);

public sealed record Member(string UserId, string Email, string Role, DateTimeOffset JoinedAt);

public sealed record Invitation(string Id, string Email, string Role, string InvitedBy, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

public sealed record ApiToken(string Id, string Name, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt);

public sealed record CreatedApiToken(string Token, ApiToken Details);

/// <summary>Who may change a project: the roles above viewer.</summary>
public static class Roles
{
    public const string Viewer = "viewer";

    public static bool CanDeploy(string role) => role is "owner" or "admin" or "developer";

    public static bool CanManageTeam(string role) => role is "owner" or "admin";
}
