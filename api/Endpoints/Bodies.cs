namespace CloudDeck.Api.Endpoints;

// The JSON bodies the routes read, as records, for the OpenAPI document: handlers read bodies field by field
// (Http.JsonBody, so that a 400 names the field), and these name the same fields under the API's naming policy.
// Then the answers that no grain record describes.

public sealed record SignUpBody(string Email, string Password, string? Name = null);

public sealed record LoginBody(string Email, string Password);

public sealed record MfaLoginBody(string Challenge, string Code);

public sealed record RefreshTokenBody(string RefreshToken);

public sealed record EmailBody(string Email);

/// <summary>A one-time token from an email's link (email verification, invitation).</summary>
public sealed record OneTimeTokenBody(string Token);

public sealed record PasswordResetBody(string Token, string NewPassword);

public sealed record ChangePasswordBody(string CurrentPassword, string NewPassword);

public sealed record MfaCodeBody(string Code);

public sealed record CreateApiTokenBody(string Name, IReadOnlyList<string> Scopes, DateTimeOffset? ExpiresAt = null);

public sealed record CreateOrganizationBody(string Slug, string Name);

public sealed record RenameOrganizationBody(string Name);

public sealed record ChangeRoleBody(string Role);

public sealed record InviteBody(string Email, string Role);

public sealed record ChangePlanBody(string Plan);

public sealed record ValidateLicenseBody(string LicenseKey, string MachineId, string? Version = null);

public sealed record ConsumeLicenseBody(string LicenseKey, string MachineId, int? Count = null);

public sealed record LicenseMachineBody(string LicenseKey, string MachineId);

public sealed record IssueLicenseBody(string Tier, string Name, int? MaxDevices = null, DateTimeOffset? ExpiresAt = null);

public sealed record OfflineLicenseBody(string MachineId);

public sealed record UsageEventsBody(string Org, IReadOnlyList<UsageEventBody> Events);

/// <summary>One event; <c>id</c> makes it idempotent, <c>quantity</c> defaults to 1 and <c>time</c> to now.</summary>
public sealed record UsageEventBody(string Id, string Kind, long? Quantity = null, DateTimeOffset? Time = null);

public sealed record CreateProjectBody(
    string Name, string? GitUrl = null, string? LocalPath = null, string? ProductionBranch = null, string? RootDirectory = null,
    string? Framework = null, string? InstallCommand = null, string? BuildCommand = null, string? OutputDirectory = null,
    string? StartCommand = null, string? HealthCheckPath = null);

/// <summary>Only the fields present change; "" clears an optional one.</summary>
public sealed record UpdateProjectBody(
    string? Name = null, string? GitUrl = null, string? LocalPath = null, string? ProductionBranch = null, string? RootDirectory = null,
    string? Framework = null, string? InstallCommand = null, string? BuildCommand = null, string? OutputDirectory = null,
    string? StartCommand = null, string? HealthCheckPath = null);

public sealed record EnvValueBody(string Value);

/// <summary>A git ref to build, or the files of an upload (every one already stored: <c>POST files/missing</c>), not both.</summary>
public sealed record CreateDeploymentBody(string Target, string? GitRef = null, IReadOnlyList<ManifestFileBody>? Files = null, string? Branch = null);

public sealed record ManifestFileBody(string Path, string Sha256, long Size);

/// <summary>Without a deployment id, production goes back to the previous ready production deployment.</summary>
public sealed record RollbackBody(string? DeploymentId = null);

public sealed record MissingFilesBody(IReadOnlyList<FileHashBody> Files);

public sealed record FileHashBody(string Sha256, long Size, string? Path = null);

/// <summary>A login whose password was right for an account with MFA: finish it at <c>POST /auth/login/mfa</c>.</summary>
public sealed record MfaRequiredAnswer(bool MfaRequired, string Challenge);

/// <summary>The hashes of the asked files that this organization does not hold yet.</summary>
public sealed record MissingFilesAnswer(IReadOnlyList<string> Missing);

public sealed record StoredFileAnswer(string Sha256, long Size);

public sealed record StoredBatchAnswer(int Stored);

/// <summary>The key offline licenses are signed with, as PEM and as a JWK.</summary>
public sealed record LicensePublicKeyAnswer(string Algorithm, string KeyId, string Pem, IReadOnlyDictionary<string, string> Jwk);

/// <summary>The answer to a git push delivery received before (200): nothing new was deployed.</summary>
public sealed record DuplicateDeliveryAnswer(bool Duplicate, string? DeliveryId, string? EarlierDeliveryId, string DeploymentId, string Detail);

/// <summary>The one-time code from a sign-in's redirect and the PKCE verifier whose challenge started it.</summary>
public sealed record SsoTokenBody(string Code, string CodeVerifier);

/// <summary>Whose sign-in it is: an organization owner names one of <c>GET /api/v1/auth/sso/providers</c>.</summary>
public sealed record RequireSsoBody(string Provider);

public sealed record SsoProviderView(string Name, string DisplayName, string Kind);

public sealed record SsoProvidersAnswer(IReadOnlyList<SsoProviderView> Items, string? NextCursor);
