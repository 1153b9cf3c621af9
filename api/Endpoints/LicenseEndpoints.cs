using System.Globalization;
using Actors.Extensions.Streams;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.Api.OpenApi;
using CloudDeck.GrainInterfaces.Licenses;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Licenses;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// Licenses. Machines call validate, consume and deactivate with a license key and no session: the key is the credential
/// (a malformed key is refused here, before any grain), and each client address is rate-limited. Organization admins issue,
/// list and revoke under <c>/orgs/{slug}/licenses</c>; the grains decide who may.
/// </summary>
public static class LicenseEndpoints
{
    public const string RateLimitPolicy = "license-keys";

    public const int MaxMachineIdLength = 128;

    public static RouteGroupBuilder MapLicenseEndpoints(this RouteGroupBuilder api)
    {
        var licenses = api.MapGroup("/licenses").WithTags("Licenses");
        var keyed = licenses.MapGroup("");
        // With the limit off (RequestsPerSecondPerAddress = 0) the limiter is not even asked.
        if (((IEndpointRouteBuilder)api).ServiceProvider.GetRequiredService<LicenseOptions>().RequestsPerSecondPerAddress > 0) keyed.RequireRateLimiting(RateLimitPolicy);

        keyed.MapPost("/validate", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var version = body.String("version", 64, required: false);
            var (key, machine, problem) = ReadKeyAndMachine(body);
            if ((problem ?? body.Problem()) is { } refused) return refused;
            var answer = await grains.GetGrain<ILicenseGrain>(key!.Id).Validate(Secrets.Hash(key.Secret), machine!, version, http.ClientAddress());
            return Results.Ok(answer);
        })
            .Describe("validateLicense", "Validate a license key for a machine (the key is the credential)",
            "Activates the machine if the license has room. A license that is expired, revoked or full is a 200 whose valid is false, with the reason; an unknown key is a 404.")
            .Takes<ValidateLicenseBody>().Answers<LicenseValidation>().Refuses(400, 404, 429);

        keyed.MapPost("/consume", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var count = body.OptionalIntBetween("count", 1, 1000) ?? 1;
            var (key, machine, problem) = ReadKeyAndMachine(body);
            if ((problem ?? body.Problem()) is { } refused) return refused;
            var answer = await grains.GetGrain<ILicenseGrain>(key!.Id).Consume(Secrets.Hash(key.Secret), machine!, count, http.ClientAddress());
            if (answer.Allowed) return Results.Ok(answer);
            var extensions = new Dictionary<string, object?>
            {
                ["reason"] = answer.Reason, ["quota"] = answer.Quota, ["limit"] = answer.Limit, ["used"] = answer.Used, ["resets_at"] = answer.ResetsAt,
            };
            if (answer.Reason == LicenseRefusals.QuotaExceeded)
            {
                var wait = Math.Max(1, (int)Math.Ceiling((answer.ResetsAt - http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow()).TotalSeconds));
                http.Response.Headers.RetryAfter = wait.ToString(CultureInfo.InvariantCulture);
                return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Quota exceeded", detail: answer.Detail, extensions: extensions);
            }

            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "License not valid", detail: answer.Detail, extensions: extensions);
        })
            .Describe("consumeLicense", "Count uses against the license's daily quota")
            .Takes<ConsumeLicenseBody>().Answers<LicenseConsumption>().Refuses(400, 404).RefusesWith<LicenseRefusalProblem>(403, 429);

        keyed.MapPost("/deactivate", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var (key, machine, problem) = ReadKeyAndMachine(body);
            if ((problem ?? body.Problem()) is { } refused) return refused;
            await grains.GetGrain<ILicenseGrain>(key!.Id).Deactivate(Secrets.Hash(key.Secret), machine!);
            return Results.NoContent();
        })
            .Describe("deactivateLicense", "Free a machine's activation").Takes<LicenseMachineBody>().AnswersEmpty().Refuses(400, 404, 429);

        licenses.MapGet("/public-key", (LicenseSigningKey key) => key.IsAvailable
            ? Results.Ok(new LicensePublicKeyAnswer("ES256", key.KeyId, key.PublicKeyPem, key.Jwk))
            : Unavailable())
            .Describe("getLicensePublicKey", "The key offline licenses are signed with").Answers<LicensePublicKeyAnswer>().Refuses(503);

        var org = api.MapGroup("/orgs/{slug}/licenses").SignedIn().WithTags("Licenses").Refuses(400, 404).AddEndpointFilter(async (context, next) =>
        {
            var values = context.HttpContext.Request.RouteValues;
            if (values["slug"] is not string slug || !RouteValues.IsSlug(slug)) return JsonBody.FieldProblem("slug", RouteValues.SlugRule);
            if (values.TryGetValue("licenseId", out var id) && !LicenseKey.IsLicenseId(id as string))
            {
                return JsonBody.FieldProblem("licenseId", "must be a license id (16 hex characters)");
            }

            return await next(context);
        });
        static IOrganizationLicensesGrain Org(IGrainFactory grains, string slug) => grains.GetGrain<IOrganizationLicensesGrain>(slug);

        org.MapGet("", (string slug, HttpContext http, IGrainFactory grains) =>
            Paging.ListAsync(http.Request, () => Org(grains, slug).List(http.Caller()), l => Paging.Key(l.IssuedAt, l.Id)))
            .Describe("listLicenses", "An organization's licenses (admins)").AnswersPage<LicenseView>();

        org.MapPost("", async (string slug, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var tier = body.String("tier", 16);
            var name = body.String("name", OrganizationLicensesGrain.MaxNameLength);
            var maxDevices = body.OptionalIntBetween("max_devices", -1, OrganizationLicensesGrain.MaxDevicesLimit);
            var expiresAt = body.OptionalDateTime("expires_at");
            if (tier is not null && !LicenseTiers.All.Contains(tier.ToUpperInvariant()))
            {
                return JsonBody.FieldProblem("tier", $"must be one of {string.Join(", ", LicenseTiers.All)}");
            }

            if (body.Problem() is { } problem) return problem;
            var issued = await Org(grains, slug).Issue(http.Caller(), new IssueLicenseRequest(tier!, name!, maxDevices, expiresAt));
            return Results.Created($"/api/v1/orgs/{slug}/licenses/{issued.License.Id}", issued);
        })
            .Describe("issueLicense", "Issue a license; its key is in this answer only (admins)")
            .Takes<IssueLicenseBody>().AnswersCreated<IssuedLicense>();

        org.MapGet("/{licenseId}", async (string slug, string licenseId, HttpContext http, IGrainFactory grains) =>
            Results.Ok(await Org(grains, slug).Get(http.Caller(), licenseId)))
            .Describe("getLicense", "A license, with its activated machines (admins)").Answers<LicenseView>();

        org.MapPost("/{licenseId}/revoke", async (string slug, string licenseId, HttpContext http, IGrainFactory grains) =>
            Results.Ok(await Org(grains, slug).Revoke(http.Caller(), licenseId)))
            .Describe("revokeLicense", "Revoke a license (admins)").Answers<LicenseView>();

        org.MapDelete("/{licenseId}/devices/{machineId}", async (string slug, string licenseId, string machineId, HttpContext http, IGrainFactory grains) =>
        {
            if (!IsMachineId(machineId)) return JsonBody.FieldProblem("machineId", MachineIdRule);
            return Results.Ok(await Org(grains, slug).RemoveDevice(http.Caller(), licenseId, machineId));
        })
            .Describe("removeLicenseDevice", "Free one machine's activation (admins)").Answers<LicenseView>();

        org.MapPost("/{licenseId}/offline", async (string slug, string licenseId, HttpContext http, IGrainFactory grains, LicenseSigningKey key) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var machine = body.String("machine_id", MaxMachineIdLength);
            if (machine is not null && !IsMachineId(machine)) return JsonBody.FieldProblem("machine_id", MachineIdRule);
            if (body.Problem() is { } problem) return problem;
            if (!key.IsAvailable) return Unavailable();
            return Results.Ok(await Org(grains, slug).IssueOffline(http.Caller(), licenseId, machine!));
        })
            .Describe("issueOfflineLicense", "A signed license file for a machine that cannot call validate (admins)")
            .Takes<OfflineLicenseBody>().Answers<OfflineLicense>().Refuses(409, 503);

        return api;
    }

    public const string MachineIdRule = "must be 1–128 printable ASCII characters without spaces";

    public static bool IsMachineId(string value) => value.Length is >= 1 and <= MaxMachineIdLength && value.All(c => c is > ' ' and <= '~');

    /// <summary>Reads the key and machine last: it asks for the body's problems, so every other field must have been read.</summary>
    private static (LicenseKey? Key, string? Machine, IResult? Problem) ReadKeyAndMachine(JsonBody body)
    {
        var text = body.String("license_key", 256);
        var machine = body.String("machine_id", MaxMachineIdLength);
        if (body.Problem() is { } problem) return (null, null, problem);
        // The check segment: a malformed or mistyped key is refused here, without a lookup or a grain activation.
        if (!LicenseKey.TryParse(text, out var key)) return (null, null, JsonBody.FieldProblem("license_key", LicenseKey.Rule));
        if (!IsMachineId(machine!)) return (null, null, JsonBody.FieldProblem("machine_id", MachineIdRule));
        return (key, machine, null);
    }

    private static IResult Unavailable() =>
        Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "No license signing key", detail: LicenseSigningKey.Unavailable);
}
