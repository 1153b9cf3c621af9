using System.Threading.RateLimiting;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Edge;
using CloudDeck.Api.Endpoints;
using CloudDeck.Api.Http;
using CloudDeck.Api.Logging;
using CloudDeck.Api.Logs;
using CloudDeck.Api.OpenApi;
using CloudDeck.Api.Operators;
using CloudDeck.Api.Sso;
using CloudDeck.Grains.Billing;
using CloudDeck.Grains.Hosting;
using CloudDeck.Grains.Limits;
using CloudDeck.Grains.Licenses;
using CloudDeck.ServiceDefaults;
using CloudDeck.Dashboard.Hosting;

var builder = WebApplication.CreateBuilder(args);
// The documented default address; ASPNETCORE_URLS, --urls or a Urls setting replace it.
var publicUrls = builder.Configuration["urls"] ?? "http://localhost:8080";
builder.WebHost.UseUrls(publicUrls);

IReadOnlyList<System.Net.IPAddress> knownProxies;
try
{
    // Cluster mode: a client of the silos. Embedded mode (default): this process co-hosts the silo.
    if (!builder.TryAddCloudDeckClusterClient())
    {
        builder.AddCloudDeckSilo();
    }

    // Telemetry, /readyz's checks, CloudDeck:Management (a management port joins the public URLs).
    builder.AddCloudDeckDefaults("clouddeck-api");
    builder.WebHost.AddManagementUrl(ManagementOptions.Read(builder.Configuration), publicUrls);
    builder.Services.AddSingleton(BuildLogOptions.Read(builder.Configuration));
    builder.Services.AddCloudDeckEdge(builder.Configuration);
    // The webhook's secret; in embedded mode the silo registered the same settings already.
    builder.Services.AddCloudDeckBilling(builder.Configuration);
    // CloudDeck:Edge:Https: an HTTPS port whose certificate is chosen per handshake (SNI).
    builder.AddEdgeHttps();
    // CloudDeck:Auth:Oidc: the identity providers people may sign in with.
    builder.Services.AddCloudDeckSso(builder.Configuration);
    knownProxies = KnownProxies.Read(builder.Configuration);
    if (knownProxies.Count > 0) builder.Services.AddKnownProxies(knownProxies);
}
catch (InvalidOperationException misconfigured)
{
    // A setting is wrong: say which and stop, without a stack trace.
    Console.Error.WriteLine($"CloudDeck cannot start: {misconfigured.Message}");
    return 1;
}

// One JSON contract (snake_case, unknown members refused) for answers, ProblemDetails, SSE event data and hub payloads.
builder.Services.ConfigureHttpJsonOptions(options => ApiJson.Configure(options.SerializerOptions));
builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = ApiJson.CustomizeProblemDetails);
// A body bound to a type that cannot be read: thrown (in every environment) so RequestBindingErrors names the field.
builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
builder.Services.AddExceptionHandler<RequestBindingErrors>();
builder.Services.AddCloudDeckOpenApi();
// Sessions' access tokens through JwtBearer, API tokens through their own scheme, chosen per request by a policy scheme.
builder.Services.AddCloudDeckAuthentication();
// Key-authenticated license routes: a token bucket per client address (an IPv6 client's /64) in this process
// (CloudDeck:Licenses:RequestsPerSecondPerAddress).
builder.Services.AddRateLimiter(limiter =>
{
    limiter.AddPolicy(LicenseEndpoints.RateLimitPolicy, http =>
    {
        var perSecond = http.RequestServices.GetRequiredService<LicenseOptions>().RequestsPerSecondPerAddress;
        return RateLimitPartition.GetTokenBucketLimiter(ClientAddresses.ThrottleKey(http.ClientAddress()), _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perSecond * 10, TokensPerPeriod = perSecond, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0,
        });
    });
    // Sign-ins begun per client address: each holds an attempt in memory until it ends or expires.
    limiter.AddPolicy(SsoEndpoints.StartRateLimitPolicy, http =>
    {
        var perMinute = http.RequestServices.GetRequiredService<SsoOptions>().StartsPerMinutePerAddress;
        return RateLimitPartition.GetTokenBucketLimiter(ClientAddresses.ThrottleKey(http.ClientAddress()), _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute, TokensPerPeriod = perMinute, ReplenishmentPeriod = TimeSpan.FromMinutes(1), QueueLimit = 0,
        });
    });
    limiter.OnRejected = async (context, cancellationToken) =>
    {
        var policy = context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.RateLimiting.EnableRateLimitingAttribute>()?.PolicyName;
        var sso = policy == SsoEndpoints.StartRateLimitPolicy;
        context.HttpContext.Response.Headers.RetryAfter = sso ? "60" : "1";
        await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
            detail: sso ? "Too many sign-ins begun from this address; try again in a minute." : "Too many license requests from this address; slow down.")
            .ExecuteAsync(context.HttpContext);
    };
});
builder.Services.AddSignalR().AddJsonProtocol(options => ApiJson.Configure(options.PayloadSerializerOptions));
builder.Services.AddSingleton<BuildLogSource>();
builder.Services.AddSingleton<BuildLogFollowers>();
builder.Services.AddSingleton<LogAccess>();
// Hub clients may send the bearer token in the URL (?access_token=): no logger may print it.
builder.Services.AddSecretRedactingLogging();
builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(45));
// The web dashboard at / (CloudDeck:Dashboard:Enabled): a client of this API over HTTP and of /hubs/logs, like deck.
var dashboard = DashboardHosting.IsEnabled(builder.Configuration);
if (dashboard)
{
    builder.Services.AddCloudDeckDashboard(builder.Configuration);
    // Its scripts and styles from the build's static web assets manifest in every environment (the SDK does this only in
    // Development); a published host has no manifest and serves them from wwwroot.
    builder.WebHost.UseStaticWebAssets();
}

var app = builder.Build();
// Before anything reads HttpRequest.Host (forwarded headers, the edge), which throws on a Host it cannot decode.
HostHeaderCheck.UseHostHeaderCheck(app);
// The management port (CloudDeck:Management:Port) answers /healthz, /readyz and /metrics, and nothing of the API or the edge.
app.UseManagementPort();
if (knownProxies.Count > 0)
{
    // First, so that every later middleware and endpoint sees the client's address rather than the proxy's.
    app.UseForwardedHeaders();
}

app.UseExceptionHandler();
// Before authentication and the API's status pages: a deployment's host never reaches the API.
app.UseCloudDeckEdge();
// Explicitly after the edge: left implicit, WebApplication matches every request against the API's routes first,
// including each request the edge proxies to a server deployment.
app.UseRouting();
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();
if (dashboard) app.UseCloudDeckDashboard();

app.MapHealthEndpoints();
// /readyz, and /metrics for the metrics token or a platform operator; the Orleans dashboard for operators.
app.MapCloudDeckManagement(OperatorEndpoints.IsOperatorAsync);
app.MapOperatorEndpoints();
// /openapi/v1.json and the API reference page at /docs.
app.MapCloudDeckApiReference();

app.MapHub<LogsHub>(LogsHub.Path).RequireAuthorization();

app.MapGroup("/api/v1")
    .AddEndpointFilter<DomainErrorFilter>()
    .MapAuthEndpoints()
    .MapSsoEndpoints()
    .MapAccountEndpoints()
    .MapOrganizationEndpoints()
    .MapLicenseEndpoints()
    .MapBuildEndpoints()
    .MapUsageEndpoints()
    .MapBillingEndpoints()
    .MapProjectEndpoints()
    .MapDeploymentEndpoints()
    .MapFileEndpoints()
    .MapDomainEndpoints()
    .MapNotificationEndpoints();

if (dashboard) app.MapCloudDeckDashboard();

await app.RunAsync();
return 0;

/// <summary>Lets WebApplicationFactory-based tests reach the entry point.</summary>
public partial class Program;
