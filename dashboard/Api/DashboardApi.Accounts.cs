using System.Text.Json.Nodes;

namespace CloudDeck.Dashboard.Api;

/// <summary>Sign-up, login (with the TOTP step), refresh, logout, verification and password reset; the account itself.</summary>
public sealed partial class DashboardApi
{
    public Task SignUpAsync(string email, string password, string? name, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Post, "api/v1/auth/signup", string.IsNullOrWhiteSpace(name) ? new { email, password } : new { email, password, name }, anonymous: true, cancellation);

    /// <summary>The tokens, or (with MFA on) the challenge to answer with a code.</summary>
    public async Task<LoginAnswer> LoginAsync(string email, string password, CancellationToken cancellation = default) =>
        ReadLogin(await SendAsync(HttpMethod.Post, "api/v1/auth/login", new { email, password }, anonymous: true, cancellation));

    public async Task<LoginAnswer> LoginMfaAsync(string challenge, string code, CancellationToken cancellation = default) =>
        ReadLogin(await SendAsync(HttpMethod.Post, "api/v1/auth/login/mfa", new { challenge, code }, anonymous: true, cancellation));

    public async Task<TokenPair> RefreshAsync(string refreshToken, CancellationToken cancellation = default) =>
        DashboardJson.Read<TokenPair>(await SendAsync(HttpMethod.Post, "api/v1/auth/refresh", new { refresh_token = refreshToken }, anonymous: true, cancellation));

    public Task LogoutAsync(string refreshToken, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Post, "api/v1/auth/logout", new { refresh_token = refreshToken }, anonymous: true, cancellation);

    public Task VerifyEmailAsync(string token, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Post, "api/v1/auth/verify-email", new { token }, anonymous: true, cancellation);

    public async Task<Membership> AcceptInvitationAsync(string token, CancellationToken cancellation = default) =>
        DashboardJson.Read<Membership>(await PostAsync("api/v1/invitations/accept", new { token }, cancellation));

    public Task DeclineInvitationAsync(string token, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Post, "api/v1/invitations/decline", new { token }, cancellation: cancellation);

    public Task RequestPasswordResetAsync(string email, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Post, "api/v1/auth/password-reset", new { email }, anonymous: true, cancellation);

    public Task ResetPasswordAsync(string token, string newPassword, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Post, "api/v1/auth/password-reset/confirm", new { token, new_password = newPassword }, anonymous: true, cancellation);

    public Task<Account> MeAsync(CancellationToken cancellation = default) => GetAsync<Account>("api/v1/me", cancellation);

    public Task<Organization> OrganizationAsync(string slug, CancellationToken cancellation = default) =>
        GetAsync<Organization>($"api/v1/orgs/{Escape(slug)}", cancellation);

    public async Task<IReadOnlyList<ApiToken>> ApiTokensAsync(CancellationToken cancellation = default) =>
        DashboardJson.ReadList<ApiToken>(await GetAsync("api/v1/me/tokens", cancellation)).Items;

    public async Task<CreatedApiToken> CreateApiTokenAsync(string name, IReadOnlyList<string> scopes, CancellationToken cancellation = default) =>
        DashboardJson.Read<CreatedApiToken>(await PostAsync("api/v1/me/tokens", new { name, scopes }, cancellation));

    public Task RevokeApiTokenAsync(string id, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Delete, $"api/v1/me/tokens/{Escape(id)}", cancellation: cancellation);

    public Task ChangePasswordAsync(string currentPassword, string newPassword, CancellationToken cancellation = default) =>
        PostAsync("api/v1/me/password", new { current_password = currentPassword, new_password = newPassword }, cancellation);

    /// <summary>A new authenticator's otpauth URI (its secret): shown on this answer only.</summary>
    public async Task<string> EnrollMfaAsync(CancellationToken cancellation = default) =>
        (await PostAsync("api/v1/me/mfa/enroll", cancellation: cancellation))?["otp_auth_uri"]?.GetValue<string>()
        ?? throw new System.Text.Json.JsonException("The API's MFA enrollment had no otp_auth_uri.");

    /// <summary>Turns MFA on; the recovery codes are shown on this answer only.</summary>
    public async Task<IReadOnlyList<string>> ConfirmMfaAsync(string code, CancellationToken cancellation = default) =>
        DashboardJson.Read<List<string>>((await PostAsync("api/v1/me/mfa/verify", new { code }, cancellation))?["codes"]);

    public Task DisableMfaAsync(string code, CancellationToken cancellation = default) =>
        PostAsync("api/v1/me/mfa/disable", new { code }, cancellation);

    private static LoginAnswer ReadLogin(JsonNode? answer) =>
        answer?["challenge"] is { } challenge
            ? new LoginAnswer(null, challenge.GetValue<string>())
            : new LoginAnswer(DashboardJson.Read<TokenPair>(answer), null);
}
