using System.Net;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.Grains.Accounts;
using CloudDeck.Testing.Stripe;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Accounts;

/// <summary>
/// Every route the API maps, called as anonymous, a member of another organization, viewer, developer, admin and
/// owner of "acme", must answer the status docs/api.md documents. The routes come from the app's
/// EndpointDataSource, so a route added without a row here (or in docs/api.md) fails this test.
/// </summary>
public sealed partial class AuthorizationMatrixTests : IAsyncDisposable
{
    private static readonly string[] CallerNames = ["anonymous", "outsider", "viewer", "developer", "admin", "owner"];

    // Billing on, against the Stripe fake, so that its routes answer as they do in production.
    private readonly StripeFake _stripe = StripeFake.StartAsync().GetAwaiter().GetResult();
    private readonly InProcessApi _api;
    private int _fresh;
    private Account _owner = null!;
    private Account _viewer = null!;
    private Account _loginUser = null!;
    private (string Id, string Key)? _license;
    private string? _acmeBuild;
    private string? _acmeProject;

    /// <param name="Method">For routes mapped for any method (SignalR's): the method to call them with.</param>
    private sealed record Row(int[] Expected, Func<Account?, Task<(string Path, object? Body)>> Build, Func<Account?, Answer, Task>? After = null, string? Method = null);

    public AuthorizationMatrixTests()
    {
        var settings = _stripe.Settings();
        settings["CloudDeck:Operators:Emails:0"] = "operator@platform.test";
        // Domain checks ask a closed port (an instant failure, the domain stays pending) and order no certificate.
        settings["CloudDeck:Domains:DnsServers:0"] = "127.0.0.1:1";
        settings["CloudDeck:Domains:Acme:Enabled"] = "false";
        // A webhook rule to a closed loopback port, so its delivery routes have a log to answer from.
        settings["CloudDeck:Notifications:AllowPrivateWebhookTargets"] = "true";
        // An identity provider nobody can reach: its discovery is lazy, and no row here goes to it.
        settings["CloudDeck:Auth:Oidc:Providers:corp:Issuer"] = "http://127.0.0.1:1";
        settings["CloudDeck:Auth:Oidc:Providers:corp:ClientId"] = "clouddeck";
        settings["CloudDeck:Auth:Oidc:Providers:corp:ClientSecret"] = "matrix-secret";
        _api = new(diagnostics: true, settings: settings);
    }

    private static int[] Everyone(int status) => [status, status, status, status, status, status];

    private static int[] SignedIn(int status) => [401, status, status, status, status, status];

    private static int[] Org(int viewer, int developer, int admin, int owner) => [401, 404, viewer, developer, admin, owner];

    private static Func<Account?, Task<(string, object?)>> Fixed(string path, object? body = null) => _ => Task.FromResult<(string, object?)>((path, body));

    private Dictionary<string, Row> RouteRows() => new()
    {
        ["GET /healthz"] = new(Everyone(200), Fixed("/healthz")),
        ["GET /openapi/{documentName}.json"] = new(Everyone(200), Fixed("/openapi/v1.json")),
        ["PUT /_diag/probe/{key}"] = new(Everyone(200), Fixed("/_diag/probe/matrix", new { value = "x" })),
        ["GET /_diag/probe/{key}"] = new(Everyone(200), Fixed("/_diag/probe/matrix")),
        ["GET /_diag/outbox/{email}"] = new(Everyone(200), Fixed("/_diag/outbox/nobody@matrix.test")),

        ["POST /api/v1/auth/signup"] = new(Everyone(202), _ => Task.FromResult<(string, object?)>(("/api/v1/auth/signup", new { email = FreshEmail(), password = InProcessApi.Password }))),
        ["POST /api/v1/auth/verify-email"] = new(Everyone(204), async _ =>
        {
            var fresh = await _api.SignUpAndLoginAsync(FreshEmail());
            return ("/api/v1/auth/verify-email", new { token = await _api.TokenFromOutboxAsync(fresh.Email, OutboxKinds.EmailVerification) });
        }),
        ["POST /api/v1/auth/login"] = new(Everyone(200), _ => Task.FromResult<(string, object?)>(("/api/v1/auth/login", new { email = _loginUser.Email, password = _loginUser.Password }))),
        ["GET /api/v1/auth/sso/providers"] = new(Everyone(200), Fixed("/api/v1/auth/sso/providers")),
        // Without the client's loopback redirect_uri and PKCE challenge nothing starts.
        ["GET /api/v1/auth/sso/{provider}/start"] = new(Everyone(400), Fixed("/api/v1/auth/sso/corp/start")),
        ["GET /api/v1/auth/sso/{provider}/callback"] = new(Everyone(400), Fixed($"/api/v1/auth/sso/corp/callback?code=x&state={new string('a', 32)}")),
        ["POST /api/v1/auth/sso/token"] = new(Everyone(401), Fixed("/api/v1/auth/sso/token", new { code = $"cds_{new string('a', 32)}.h.secret", code_verifier = "verifier" })),
        ["POST /api/v1/auth/login/mfa"] = new(Everyone(200), async _ =>
        {
            var fresh = await _api.SignUpAndLoginAsync(FreshEmail());
            await EnsureMfaAsync(fresh, enabled: true);
            var login = (await _api.PostAsync("/api/v1/auth/login", new { email = fresh.Email, password = fresh.Password })).Expect(HttpStatusCode.OK);
            return ("/api/v1/auth/login/mfa", new { challenge = login.Text("challenge"), code = fresh.RecoveryCodes[0] });
        }),
        ["POST /api/v1/auth/refresh"] = new(Everyone(200), async _ =>
        {
            await _api.LoginAsync(_loginUser);
            return ("/api/v1/auth/refresh", new { refresh_token = _loginUser.RefreshToken });
        }),
        ["POST /api/v1/auth/logout"] = new(Everyone(204), async _ =>
        {
            await _api.LoginAsync(_loginUser);
            return ("/api/v1/auth/logout", new { refresh_token = _loginUser.RefreshToken });
        }),
        ["POST /api/v1/auth/password-reset"] = new(Everyone(202), _ => Task.FromResult<(string, object?)>(("/api/v1/auth/password-reset", new { email = _loginUser.Email }))),
        ["POST /api/v1/auth/password-reset/confirm"] = new(Everyone(204), async _ =>
        {
            var fresh = await _api.SignUpAndLoginAsync(FreshEmail());
            (await _api.PostAsync("/api/v1/auth/password-reset", new { email = fresh.Email })).Expect(HttpStatusCode.Accepted);
            return ("/api/v1/auth/password-reset/confirm", new { token = await _api.TokenFromOutboxAsync(fresh.Email, OutboxKinds.PasswordReset), new_password = "another fine passphrase" });
        }),

        ["GET /api/v1/me"] = new(SignedIn(200), Fixed("/api/v1/me")),
        ["POST /api/v1/me/password"] = new(SignedIn(204), caller => Task.FromResult<(string, object?)>(("/api/v1/me/password",
            new { current_password = caller?.Password ?? InProcessApi.Password, new_password = caller?.Password ?? InProcessApi.Password }))),
        ["GET /api/v1/me/sessions"] = new(SignedIn(200), Fixed("/api/v1/me/sessions")),
        ["GET /api/v1/me/emails"] = new(SignedIn(200), Fixed("/api/v1/me/emails")),
        ["POST /api/v1/me/mfa/enroll"] = new(SignedIn(200), async caller =>
        {
            if (caller is not null) await EnsureMfaAsync(caller, enabled: false);
            return ("/api/v1/me/mfa/enroll", null);
        }),
        ["POST /api/v1/me/mfa/verify"] = new(SignedIn(200), async caller =>
        {
            if (caller is null) return ("/api/v1/me/mfa/verify", new { code = "123456" });
            await EnsureMfaAsync(caller, enabled: false);
            return ("/api/v1/me/mfa/verify", new { code = await EnrollAsync(caller) });
        }, (caller, answer) =>
        {
            if (caller is not null && answer.Status == HttpStatusCode.OK) Remember(caller, answer);
            return Task.CompletedTask;
        }),
        ["POST /api/v1/me/mfa/disable"] = new(SignedIn(204), async caller =>
        {
            if (caller is null) return ("/api/v1/me/mfa/disable", new { code = "123456" });
            await EnsureMfaAsync(caller, enabled: true);
            return ("/api/v1/me/mfa/disable", new { code = TakeRecoveryCode(caller) });
        }, (caller, answer) =>
        {
            if (caller is not null && answer.Status == HttpStatusCode.NoContent) caller.MfaEnabled = false;
            return Task.CompletedTask;
        }),
        ["GET /api/v1/me/tokens"] = new(SignedIn(200), Fixed("/api/v1/me/tokens")),
        ["POST /api/v1/me/tokens"] = new(SignedIn(201), Fixed("/api/v1/me/tokens", new { name = "ci", scopes = new[] { "read" } })),
        ["DELETE /api/v1/me/tokens/{tokenId}"] = new(SignedIn(204), async caller =>
        {
            if (caller is null) return ("/api/v1/me/tokens/0123456789abcdef", null);
            var created = (await _api.PostAsync("/api/v1/me/tokens", new { name = "doomed", scopes = new[] { "read" } }, caller.AccessToken)).Expect(HttpStatusCode.Created);
            return ($"/api/v1/me/tokens/{created["details"]!.Text("id")}", null);
        }),

        ["GET /api/v1/orgs"] = new(SignedIn(200), Fixed("/api/v1/orgs")),
        ["POST /api/v1/orgs"] = new(SignedIn(201), _ => Task.FromResult<(string, object?)>(("/api/v1/orgs", new { slug = FreshSlug(), name = "Fresh" }))),
        ["GET /api/v1/orgs/{slug}"] = new(Org(200, 200, 200, 200), Fixed("/api/v1/orgs/acme")),
        ["PATCH /api/v1/orgs/{slug}"] = new(Org(403, 403, 200, 200), Fixed("/api/v1/orgs/acme", new { name = "Acme" })),
        ["GET /api/v1/orgs/{slug}/members"] = new(Org(200, 200, 200, 200), Fixed("/api/v1/orgs/acme/members")),
        ["PATCH /api/v1/orgs/{slug}/members/{userId}"] = new(Org(403, 403, 200, 200), async caller =>
        {
            var target = caller is null ? _viewer : await NewMemberAsync("viewer");
            return ($"/api/v1/orgs/acme/members/{target.UserId}", new { role = "developer" });
        }),
        ["DELETE /api/v1/orgs/{slug}/members/{userId}"] = new(Org(403, 403, 204, 204), async caller =>
        {
            var target = caller is null ? _viewer : await NewMemberAsync("viewer");
            return ($"/api/v1/orgs/acme/members/{target.UserId}", null);
        }),
        ["GET /api/v1/orgs/{slug}/invitations"] = new(Org(403, 403, 200, 200), Fixed("/api/v1/orgs/acme/invitations")),
        ["POST /api/v1/orgs/{slug}/invitations"] = new(Org(403, 403, 201, 201), _ =>
            Task.FromResult<(string, object?)>(("/api/v1/orgs/acme/invitations", new { email = FreshEmail(), role = "developer" }))),
        ["DELETE /api/v1/orgs/{slug}/invitations/{invitationId}"] = new(Org(403, 403, 204, 204), async _ =>
        {
            var invitation = (await _api.PostAsync("/api/v1/orgs/acme/invitations", new { email = FreshEmail(), role = "viewer" }, _owner.AccessToken)).Expect(HttpStatusCode.Created);
            return ($"/api/v1/orgs/acme/invitations/{invitation.Text("id")}", null);
        }),
        // The owner has never signed in with corp, so requiring it would lock them out: 409.
        ["PUT /api/v1/orgs/{slug}/sso"] = new(Org(403, 403, 403, 409), Fixed("/api/v1/orgs/acme/sso", new { provider = "corp" })),
        ["DELETE /api/v1/orgs/{slug}/sso"] = new(Org(403, 403, 403, 204), Fixed("/api/v1/orgs/acme/sso")),
        ["GET /api/v1/orgs/{slug}/quotas"] = new(Org(200, 200, 200, 200), Fixed("/api/v1/orgs/acme/quotas")),
        // Billing is on here: the plan follows Stripe, so even its owner is refused.
        ["PUT /api/v1/orgs/{slug}/plan"] = new(Org(403, 403, 403, 409), Fixed("/api/v1/orgs/acme/plan", new { plan = "hobby" })),
        ["GET /api/v1/orgs/{slug}/billing"] = new(Org(403, 403, 200, 200), Fixed("/api/v1/orgs/acme/billing")),
        ["POST /api/v1/orgs/{slug}/billing/upgrade"] = new(Org(403, 403, 403, 200), Fixed("/api/v1/orgs/acme/billing/upgrade", new { plan = "pro" })),
        ["POST /api/v1/orgs/{slug}/billing/portal"] = new(Org(403, 403, 403, 200), Fixed("/api/v1/orgs/acme/billing/portal")),
        // No subscription yet (checkout was never paid), so there is nothing to end.
        ["POST /api/v1/orgs/{slug}/billing/downgrade"] = new(Org(403, 403, 403, 409), Fixed("/api/v1/orgs/acme/billing/downgrade")),
        ["GET /api/v1/orgs/{slug}/billing/invoices"] = new(Org(403, 403, 200, 200), Fixed("/api/v1/orgs/acme/billing/invoices")),
        ["GET /api/v1/orgs/{slug}/billing/invoices/upcoming"] = new(Org(403, 403, 200, 200), Fixed("/api/v1/orgs/acme/billing/invoices/upcoming")),
        ["GET /api/v1/orgs/{slug}/billing/invoices.csv"] = new(Org(403, 403, 200, 200), Fixed("/api/v1/orgs/acme/billing/invoices.csv")),
        ["GET /api/v1/orgs/{slug}/billing/usage.csv"] = new(Org(403, 403, 200, 200), Fixed("/api/v1/orgs/acme/billing/usage.csv")),
        // Stripe calls it without a session; the Stripe-Signature header is the credential, so every caller is refused alike.
        ["POST /api/v1/billing/stripe/webhook"] = new(Everyone(400), Fixed("/api/v1/billing/stripe/webhook", new { id = "evt_unsigned" })),
        ["GET /api/v1/orgs/{slug}/audit"] = new(Org(403, 403, 200, 200), Fixed("/api/v1/orgs/acme/audit?limit=10")),

        // Machines call these with a license key and no session: the key is the credential, so every caller gets the same answer.
        ["POST /api/v1/licenses/validate"] = new(Everyone(200), async _ => ("/api/v1/licenses/validate", new { license_key = (await LicenseAsync()).Key, machine_id = "matrix-1" })),
        ["POST /api/v1/licenses/consume"] = new(Everyone(200), async _ => ("/api/v1/licenses/consume", new { license_key = (await LicenseAsync()).Key, machine_id = "matrix-1" })),
        ["POST /api/v1/licenses/deactivate"] = new(Everyone(204), async _ => ("/api/v1/licenses/deactivate", new { license_key = (await LicenseAsync()).Key, machine_id = "matrix-2" })),
        ["GET /api/v1/licenses/public-key"] = new(Everyone(200), Fixed("/api/v1/licenses/public-key")),
        ["GET /api/v1/orgs/{slug}/licenses"] = new(Org(403, 403, 200, 200), Fixed("/api/v1/orgs/acme/licenses")),
        ["POST /api/v1/orgs/{slug}/licenses"] = new(Org(403, 403, 201, 201), Fixed("/api/v1/orgs/acme/licenses", new { tier = "PRO", name = "Matrix" })),
        ["GET /api/v1/orgs/{slug}/licenses/{licenseId}"] = new(Org(403, 403, 200, 200), async _ => ($"/api/v1/orgs/acme/licenses/{(await LicenseAsync()).Id}", null)),
        ["POST /api/v1/orgs/{slug}/licenses/{licenseId}/revoke"] = new(Org(403, 403, 200, 200), async _ =>
            ($"/api/v1/orgs/acme/licenses/{(await LicenseAsync(fresh: true)).Id}/revoke", null)),
        ["DELETE /api/v1/orgs/{slug}/licenses/{licenseId}/devices/{machineId}"] = new(Org(403, 403, 200, 200), async _ =>
        {
            var license = await LicenseAsync();
            (await _api.PostAsync("/api/v1/licenses/validate", new { license_key = license.Key, machine_id = "doomed" })).Expect(HttpStatusCode.OK);
            return ($"/api/v1/orgs/acme/licenses/{license.Id}/devices/doomed", null);
        }),
        ["POST /api/v1/orgs/{slug}/licenses/{licenseId}/offline"] = new(Org(403, 403, 200, 200), async _ =>
            ($"/api/v1/orgs/acme/licenses/{(await LicenseAsync()).Id}/offline", new { machine_id = "air-gapped" })),

        ["GET /api/v1/orgs/{slug}/usage"] = new(Org(200, 200, 200, 200), Fixed("/api/v1/orgs/acme/usage")),
        ["POST /api/v1/usage/events"] = new(Org(403, 202, 202, 202), _ => Task.FromResult<(string, object?)>(("/api/v1/usage/events",
            new { org = "acme", events = new[] { new { id = $"matrix-{Interlocked.Increment(ref _fresh)}", kind = "api_requests", quantity = 2 } } }))),

        ["GET /api/v1/orgs/{slug}/projects"] = new(Org(200, 200, 200, 200), Fixed("/api/v1/orgs/acme/projects")),
        ["POST /api/v1/orgs/{slug}/projects"] = new(Org(403, 201, 201, 201), _ =>
            Task.FromResult<(string, object?)>(("/api/v1/orgs/acme/projects", new { name = FreshSlug(), framework = "static" }))),
        ["GET /api/v1/orgs/{slug}/projects/{project}"] = new(Org(200, 200, 200, 200), async _ => ($"/api/v1/orgs/acme/projects/{await AcmeProjectAsync()}", null)),
        ["PATCH /api/v1/orgs/{slug}/projects/{project}"] = new(Org(403, 200, 200, 200), async _ =>
            ($"/api/v1/orgs/acme/projects/{await AcmeProjectAsync()}", new { build_command = "npm run build" })),
        ["DELETE /api/v1/orgs/{slug}/projects/{project}"] = new(Org(403, 204, 204, 204), async caller =>
            ($"/api/v1/orgs/acme/projects/{(caller is null ? "doomed" : await NewProjectAsync())}", null)),
        ["GET /api/v1/orgs/{slug}/projects/{project}/env"] = new(Org(200, 200, 200, 200), async _ => ($"/api/v1/orgs/acme/projects/{await AcmeProjectAsync()}/env", null)),
        ["PUT /api/v1/orgs/{slug}/projects/{project}/env/{environment}/{name}"] = new(Org(403, 200, 200, 200), async _ =>
            ($"/api/v1/orgs/acme/projects/{await AcmeProjectAsync()}/env/preview/MATRIX", new { value = "x" })),
        ["DELETE /api/v1/orgs/{slug}/projects/{project}/env/{environment}/{name}"] = new(Org(403, 204, 204, 204), async _ =>
        {
            var project = await AcmeProjectAsync();
            (await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/acme/projects/{project}/env/production/DOOMED", new { value = "x" }, _owner.AccessToken)).Expect(HttpStatusCode.OK);
            return ($"/api/v1/orgs/acme/projects/{project}/env/production/DOOMED", null);
        }),
        ["GET /api/v1/orgs/{slug}/projects/{project}/deployments"] = new(Org(200, 200, 200, 200), async _ =>
            ($"/api/v1/orgs/acme/projects/{await AcmeProjectAsync()}/deployments", null)),
        ["POST /api/v1/orgs/{slug}/projects/{project}/deployments"] = new(Org(403, 201, 201, 201), async _ =>
            ($"/api/v1/orgs/acme/projects/{await AcmeProjectAsync()}/deployments", new { target = "preview", git_ref = "matrix" })),
        // No deployment of the matrix's project ever becomes ready (no build runs here), so there is nothing to roll back to.
        ["POST /api/v1/orgs/{slug}/projects/{project}/rollback"] = new(Org(403, 409, 409, 409), async _ =>
            ($"/api/v1/orgs/acme/projects/{await AcmeProjectAsync()}/rollback", new { })),
        // Git hosts call it without a session; the body's signature is the credential, so every caller is refused alike.
        ["POST /api/v1/orgs/{slug}/projects/{project}/hooks/git"] = new(Everyone(401), async _ =>
            ($"/api/v1/orgs/acme/projects/{await AcmeProjectAsync()}/hooks/git", new { @ref = "refs/heads/main", after = new string('1', 40) })),
        ["GET /api/v1/deployments/{id}"] = new(Org(200, 200, 200, 200), async _ => ($"/api/v1/deployments/{await NewDeploymentAsync()}", null)),
        ["GET /api/v1/deployments/{id}/server"] = new(Org(200, 200, 200, 200), async _ => ($"/api/v1/deployments/{await NewDeploymentAsync()}/server", null)),
        ["GET /api/v1/deployments/{id}/logs/runtime"] = new(Org(200, 200, 200, 200), async _ => ($"/api/v1/deployments/{await NewDeploymentAsync()}/logs/runtime", null)),
        ["POST /api/v1/deployments/{id}/cancel"] = new(Org(403, 200, 200, 200), async _ => ($"/api/v1/deployments/{await NewDeploymentAsync()}/cancel", null)),
        // Building, not ready: promote is refused after the caller's permission is checked.
        ["POST /api/v1/deployments/{id}/promote"] = new(Org(403, 409, 409, 409), async _ => ($"/api/v1/deployments/{await NewDeploymentAsync()}/promote", null)),
        ["DELETE /api/v1/deployments/{id}"] = new(Org(403, 204, 204, 204), async _ =>
        {
            var id = await NewDeploymentAsync();
            (await _api.PostAsync($"/api/v1/deployments/{id}/cancel", null, _owner.AccessToken)).Expect(HttpStatusCode.OK);
            return ($"/api/v1/deployments/{id}", null);
        }),
        ["POST /api/v1/orgs/{slug}/files/missing"] = new(Org(403, 200, 200, 200), Fixed("/api/v1/orgs/acme/files/missing",
            new { files = new[] { new { path = "index.html", sha256 = new string('a', 64), size = 1 } } })),
        // Fresh content per call, so every caller allowed to upload stores a new file (201).
        ["PUT /api/v1/orgs/{slug}/files/{sha256}"] = new(Org(403, 201, 201, 201), _ =>
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes($"matrix file {Interlocked.Increment(ref _fresh)}");
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
            return Task.FromResult<(string, object?)>(($"/api/v1/orgs/acme/files/{hash}", new ByteArrayContent(bytes)));
        }),
        ["POST /api/v1/orgs/{slug}/files/batch"] = new(Org(403, 200, 200, 200), _ =>
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes($"matrix batch file {Interlocked.Increment(ref _fresh)}");
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
            var body = new ByteArrayContent([.. System.Text.Encoding.ASCII.GetBytes($"{hash} {bytes.Length}\n"), .. bytes]);
            return Task.FromResult<(string, object?)>(("/api/v1/orgs/acme/files/batch", body));
        }),

        ["POST /api/v1/invitations/accept"] = new(SignedIn(200), async caller =>
            ("/api/v1/invitations/accept", new { token = await InviteToFreshOrganizationAsync(caller?.Email ?? FreshEmail()) })),
        ["POST /api/v1/invitations/decline"] = new(SignedIn(204), async caller =>
            ("/api/v1/invitations/decline", new { token = await InviteToFreshOrganizationAsync(caller?.Email ?? FreshEmail()) })),

        ["POST /_diag/builds"] = new(Org(403, 201, 201, 201), Fixed("/_diag/builds", new { org = "acme", lines = 3 })),
        ["GET /api/v1/builds/{id}"] = new(Org(200, 200, 200, 200), async _ => ($"/api/v1/builds/{await AcmeBuildAsync()}", null)),
        ["GET /api/v1/builds/{id}/logs"] = new(Org(200, 200, 200, 200), async _ => ($"/api/v1/builds/{await AcmeBuildAsync()}/logs", null)),
        // SignalR maps its routes for any method; clients POST to negotiate, then (long polling) GET with the connection's token.
        ["ANY /hubs/logs/negotiate"] = new(SignedIn(200), Fixed("/hubs/logs/negotiate?negotiateVersion=1"), Method: "POST"),
        ["ANY /hubs/logs"] = new(SignedIn(200), async caller =>
        {
            if (caller is null) return ("/hubs/logs?id=none", null);
            var negotiated = (await _api.SendAsync(HttpMethod.Post, "/hubs/logs/negotiate?negotiateVersion=1", null, caller.AccessToken)).Expect(HttpStatusCode.OK);
            return ($"/hubs/logs?id={negotiated.Text("connectionToken")}", null);
        }, Method: "GET"),
    };

    [Fact]
    public async Task Every_mapped_route_answers_the_documented_status_for_every_kind_of_caller()
    {
        var callers = await SetUpCallersAsync();
        var matrix = Matrix();
        // The dashboard's pages, static files and circuit hub are not API routes (CloudDeck.Dashboard.Tests cover them), nor
        // is the static assets' file fallback that Development adds ({**path:file}, files only, below every API route).
        var mapped = _api.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<CloudDeck.Dashboard.Hosting.DashboardEndpointMetadata>() is null && e.RoutePattern.RawText != "{**path:file}")
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["ANY"])
                .Select(method => $"{method} {Normalize(e.RoutePattern.RawText)}"))
            .ToHashSet();
        var unlisted = mapped.Except(matrix.Keys).Order().ToList();
        Assert.True(unlisted.Count == 0, "Routes without a row in the authorization matrix (add one here and in docs/api.md):\n" + string.Join("\n", unlisted));
        var unmapped = matrix.Keys.Except(mapped).Order().ToList();
        Assert.True(unmapped.Count == 0, "Matrix rows for routes the API does not map:\n" + string.Join("\n", unmapped));

        var routeList = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "docs", "api.md"), TestContext.Current.CancellationToken);
        var undocumented = mapped.Where(route => !routeList.Contains($"`{route}`", StringComparison.Ordinal)).Order().ToList();
        Assert.True(undocumented.Count == 0, "Routes missing from docs/api.md's route list:\n" + string.Join("\n", undocumented));

        var failures = new List<string>();
        await CallEveryRouteAsync(matrix, callers, (route, i, answer) =>
        {
            Observe(route, answer.Status);
            if ((int)answer.Status != matrix[route].Expected[i])
            {
                failures.Add($"{route} as {CallerNames[i]}: expected {matrix[route].Expected[i]}, got {(int)answer.Status} {answer.Body}");
            }
            else if ((int)answer.Status >= 400 && answer.MediaType != "application/problem+json")
            {
                failures.Add($"{route} as {CallerNames[i]}: {(int)answer.Status} is not ProblemDetails ({answer.MediaType})");
            }
        });

        failures.AddRange(await UndocumentedAnswersAsync());
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>acme with its owner, an admin, a developer and a viewer, a member of another organization: the callers, in <see cref="CallerNames"/>' order.</summary>
    private async Task<Account?[]> SetUpCallersAsync()
    {
        _owner = await _api.SignUpAndLoginAsync("owner@acme.test", verifyEmail: true);
        (await _api.PostAsync("/api/v1/orgs", new { slug = "acme", name = "Acme" }, _owner.AccessToken)).Expect(HttpStatusCode.Created);
        var admin = await NewMemberAsync("admin", "admin@acme.test");
        var developer = await NewMemberAsync("developer", "developer@acme.test");
        _viewer = await NewMemberAsync("viewer", "viewer@acme.test");
        var outsider = await _api.SignUpAndLoginAsync("outsider@other.test", verifyEmail: true);
        _loginUser = await _api.SignUpAndLoginAsync("login@acme.test", verifyEmail: true);
        return [null, outsider, _viewer, developer, admin, _owner];
    }

    /// <summary>Calls every row's route as every caller, in route order, and hands each answer to <paramref name="check"/> with the caller's index.</summary>
    private async Task CallEveryRouteAsync(Dictionary<string, Row> matrix, Account?[] callers, Action<string, int, Answer> check)
    {
        foreach (var (route, row) in matrix.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            var method = new HttpMethod(row.Method ?? route.Split(' ')[0]);
            for (var i = 0; i < callers.Length; i++)
            {
                var caller = callers[i];
                var (path, body) = await row.Build(caller);
                var answer = await _api.SendAsync(method, path, body, caller?.AccessToken);
                if (row.After is not null) await row.After(caller, answer);
                check(route, i, answer);
            }
        }
    }

    /// <summary>A group's <c>MapGet("")</c> yields "/api/v1/me/"; requests and docs/api.md say "/api/v1/me".</summary>
    private static string? Normalize(string? pattern) => pattern is { Length: > 1 } ? pattern.TrimEnd('/') : pattern;

    /// <summary>An ENT license of acme (unlimited machines and commands), issued by its owner; a new one when <paramref name="fresh"/>.</summary>
    private async Task<(string Id, string Key)> LicenseAsync(bool fresh = false)
    {
        if (_license is { } existing && !fresh) return existing;
        var issued = (await _api.PostAsync("/api/v1/orgs/acme/licenses", new { tier = "ENT", name = "Matrix" }, _owner.AccessToken)).Expect(HttpStatusCode.Created);
        var license = (issued["license"]!.Text("id"), issued.Text("license_key"));
        if (!fresh) _license = license;
        return license;
    }

    /// <summary>A build in "acme", started once by its owner.</summary>
    private async Task<string> AcmeBuildAsync()
    {
        _acmeBuild ??= (await _api.PostAsync("/_diag/builds", new { org = "acme", lines = 5 }, _owner.AccessToken)).Expect(HttpStatusCode.Created).Text("id");
        return _acmeBuild;
    }

    /// <summary>A project of acme with a git source, created once by its owner.</summary>
    private async Task<string> AcmeProjectAsync()
    {
        _acmeProject ??= await NewProjectAsync();
        return _acmeProject;
    }

    private async Task<string> NewProjectAsync()
    {
        var name = FreshSlug();
        (await _api.PostAsync("/api/v1/orgs/acme/projects", new { name, git_url = "https://git.example.test/acme/site.git" }, _owner.AccessToken))
            .Expect(HttpStatusCode.Created);
        return name;
    }

    /// <summary>A new preview deployment of acme's project, building, created by its owner.</summary>
    private async Task<string> NewDeploymentAsync() =>
        (await _api.PostAsync($"/api/v1/orgs/acme/projects/{await AcmeProjectAsync()}/deployments", new { target = "preview", git_ref = "matrix" }, _owner.AccessToken))
            .Expect(HttpStatusCode.Created).Text("id");

    private string FreshEmail() => $"user{Interlocked.Increment(ref _fresh)}@fresh.test";

    private string FreshSlug() => $"fresh-{Interlocked.Increment(ref _fresh)}";

    private async Task<Account> NewMemberAsync(string role, string? email = null)
    {
        // Verified: accepting an invitation and minting API tokens (rows below) need it.
        var member = await _api.SignUpAndLoginAsync(email ?? FreshEmail(), verifyEmail: true);
        (await _api.PostAsync("/api/v1/orgs/acme/invitations", new { email = member.Email, role }, _owner.AccessToken)).Expect(HttpStatusCode.Created);
        var token = await _api.TokenFromOutboxAsync(member.Email, OutboxKinds.Invitation);
        (await _api.PostAsync("/api/v1/invitations/accept", new { token }, member.AccessToken)).Expect(HttpStatusCode.OK);
        return member;
    }

    private async Task<string> InviteToFreshOrganizationAsync(string email)
    {
        // Owned by someone outside the matrix, so that every caller (the owner of acme too) can be invited.
        var slug = FreshSlug();
        (await _api.PostAsync("/api/v1/orgs", new { slug, name = "Inviting" }, _loginUser.AccessToken)).Expect(HttpStatusCode.Created);
        (await _api.PostAsync($"/api/v1/orgs/{slug}/invitations", new { email, role = "viewer" }, _loginUser.AccessToken)).Expect(HttpStatusCode.Created);
        return await _api.TokenFromOutboxAsync(email, OutboxKinds.Invitation);
    }

    /// <summary>Enrolls a new authenticator and answers its current code.</summary>
    private async Task<string> EnrollAsync(Account account)
    {
        var enrollment = (await _api.PostAsync("/api/v1/me/mfa/enroll", null, account.AccessToken)).Expect(HttpStatusCode.OK);
        var secret = System.Web.HttpUtility.ParseQueryString(new Uri(enrollment.Text("otp_auth_uri")).Query)["secret"]!;
        return Totp.Compute(Totp.Base32Decode(secret), Totp.TimeStep(_api.Clock.GetUtcNow()));
    }

    private async Task EnsureMfaAsync(Account account, bool enabled)
    {
        if (account.MfaEnabled == enabled) return;
        if (enabled)
        {
            var confirmed = await _api.PostAsync("/api/v1/me/mfa/verify", new { code = await EnrollAsync(account) }, account.AccessToken);
            confirmed.Expect(HttpStatusCode.OK);
            Remember(account, confirmed);
        }
        else
        {
            (await _api.PostAsync("/api/v1/me/mfa/disable", new { code = TakeRecoveryCode(account) }, account.AccessToken)).Expect(HttpStatusCode.NoContent);
            account.MfaEnabled = false;
        }
    }

    private static void Remember(Account account, Answer confirmed)
    {
        account.MfaEnabled = true;
        account.RecoveryCodes.Clear();
        account.RecoveryCodes.AddRange(confirmed.Json["codes"]!.AsArray().Select(c => c!.GetValue<string>()));
    }

    private static string TakeRecoveryCode(Account account)
    {
        var code = account.RecoveryCodes[^1];
        account.RecoveryCodes.RemoveAt(account.RecoveryCodes.Count - 1);
        return code;
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        await _stripe.DisposeAsync();
    }
}
