using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Web;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Mail;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using CloudDeck.Diagnostics;

namespace CloudDeck.Api.Tests.Accounts;

/// <summary>
/// The real API (Program, embedded silo on SQLite) in this process with its own data directory, a manual
/// clock, and every log line captured at Trace. <see cref="Responses"/> keeps every body it answered.
/// </summary>
public sealed class InProcessApi : WebApplicationFactory<Program>
{
    public const string Password = "correct horse battery staple";

    /// <summary>Where every connection comes from when the host is <c>behindProxy</c>.</summary>
    public const string ProxyAddress = "10.0.0.1";

    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly bool _behindProxy;
    private readonly Action<IServiceCollection>? _services;
    private readonly bool _diagnostics;
    private HttpClient? _http;
    private bool _keepData;

    /// <param name="behindProxy">
    /// Every connection comes from <see cref="ProxyAddress"/>, a known proxy, so a request's <c>clientAddress</c> (sent as
    /// X-Forwarded-For) is the client address the API sees. TestServer leaves the connection's address unset otherwise.
    /// </param>
    /// <param name="services">Changes the test makes to the host's services (an in-memory trace exporter, say).</param>
    /// <param name="diagnostics">Adds the diagnostic grains and the <c>/_diag/*</c> endpoints (tests/CloudDeck.Diagnostics).</param>
    public InProcessApi(string? dataDirectory = null, IReadOnlyDictionary<string, string?>? settings = null, bool behindProxy = false,
        Action<IServiceCollection>? services = null, bool diagnostics = false)
    {
        _diagnostics = diagnostics;
        _services = services;
        DataDirectory = dataDirectory ?? Directory.CreateTempSubdirectory("clouddeck-api-").FullName;
        _settings = settings ?? new Dictionary<string, string?>();
        _behindProxy = behindProxy;
    }

    public string DataDirectory { get; }

    /// <summary>The <c>CloudDeck:Accounts</c> limits this host sets to 0 (none) unless a test's settings give them.</summary>
    public static IReadOnlyList<string> LiftedAccountLimits { get; } =
    [
        "SignUpsPerAddress", "SignUpsPerEmail", "PasswordResetsPerAddress", "PasswordResetsPerEmail",
        "OrganizationCreationsPerAddress", "OrganizationCreationsPerUser", "MaxOrganizationsPerUser",
    ];

    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    public CapturedLogs Logs { get; } = new();

    public ConcurrentQueue<string> Responses { get; } = new();

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    /// <summary>Where <see cref="Http"/> sends requests; a test that serves on Kestrel (<c>UseKestrel</c>) sets its real address before the first.</summary>
    public Uri BaseAddress { get; set; } = new("http://localhost");

    public HttpClient Http => _http ??= CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = BaseAddress });

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("CloudDeck:DataDirectory", DataDirectory);
        // Most tests exercise roles and builds, not plans: their organizations stay on Hobby, so lift Hobby's one-person
        // and one-build limits unless a test sets them (the quota tests do).
        builder.UseSetting("CloudDeck:Plans:Hobby:TeamMembers", "-1");
        builder.UseSetting("CloudDeck:Plans:Hobby:ConcurrentBuilds", "-1");
        // Most tests sign up many users and create many organizations from one address; the abuse tests set these limits.
        foreach (var limit in LiftedAccountLimits) builder.UseSetting($"CloudDeck:Accounts:{limit}", "0");
        if (_behindProxy) builder.UseSetting("CloudDeck:Http:KnownProxies", ProxyAddress);
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        builder.ConfigureLogging(logging =>
        {
            logging.AddProvider(Logs);
            logging.AddFilter<CapturedLogs>(null, LogLevel.Trace);
        });
        builder.ConfigureTestServices(services =>
        {
            services.AddManualClock(Clock);
            // Fewer PBKDF2 rounds than production: these tests sign up dozens of users on two cores.
            services.Configure<PasswordHasherOptions>(o => o.IterationCount = 1000);
            if (_behindProxy) services.AddSingleton<IStartupFilter>(new FromProxy());
            if (_diagnostics) services.AddCloudDeckDiagnosticEndpoints();
            _services?.Invoke(services);
        });
    }

    /// <param name="clientAddress">Sent as X-Forwarded-For: the client address the API sees when the host is behind a proxy.</param>
    public async Task<Answer> SendAsync(HttpMethod method, string path, object? body = null, string? token = null, string? clientAddress = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (clientAddress is not null) request.Headers.Add("X-Forwarded-For", clientAddress);
        if (body is HttpContent content) request.Content = content;
        else if (body is string raw) request.Content = new StringContent(raw, System.Text.Encoding.UTF8, "application/json");
        else if (body is not null) request.Content = JsonContent.Create(body);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Responses.Enqueue(text);
        return new Answer(response.StatusCode, text, response.Headers.RetryAfter?.Delta,
            response.Content.Headers.ContentType?.MediaType, $"{method} {path}", response.Headers.Location);
    }

    public Task<Answer> PostAsync(string path, object? body = null, string? token = null, string? clientAddress = null) =>
        SendAsync(HttpMethod.Post, path, body, token, clientAddress);

    public Task<Answer> GetAsync(string path, string? token = null) => SendAsync(HttpMethod.Get, path, null, token);

    /// <param name="verifyEmail">Open the verification link before logging in, so the access token says the email is verified.</param>
    public async Task<Account> SignUpAndLoginAsync(string email, string password = Password, bool verifyEmail = false)
    {
        // Sign-up answers alike for new and registered addresses, so who was made is read back after the login.
        (await PostAsync("/api/v1/auth/signup", new { email, password })).Expect(HttpStatusCode.Accepted);
        var account = new Account(email, password);
        if (verifyEmail) await VerifyEmailAsync(account);
        await LoginAsync(account);
        var me = (await GetAsync("/api/v1/me", account.AccessToken)).Expect(HttpStatusCode.OK);
        account.UserId = me.Text("user_id");
        account.PersonalOrganization = Assert.Single(me["organizations"]!.AsArray())!.Text("slug");
        return account;
    }

    public async Task VerifyEmailAsync(Account account) =>
        (await PostAsync("/api/v1/auth/verify-email", new { token = await TokenFromOutboxAsync(account.Email, OutboxKinds.EmailVerification) }))
            .Expect(HttpStatusCode.NoContent);

    public async Task LoginAsync(Account account)
    {
        var login = (await PostAsync("/api/v1/auth/login", new { email = account.Email, password = account.Password })).Expect(HttpStatusCode.OK);
        account.AccessToken = login["access_token"]!.GetValue<string>();
        account.RefreshToken = login["refresh_token"]!.GetValue<string>();
    }

    /// <summary>The one-time token in the newest outbox message of that kind for that address.</summary>
    public async Task<string> TokenFromOutboxAsync(string email, string kind)
    {
        var message = (await Grains.GetGrain<IOutboxGrain>(EmailAddresses.Normalize(email)).List()).Last(m => m.Kind == kind);
        return HttpUtility.ParseQueryString(new Uri(message.Link).Query)["token"]!;
    }

    /// <summary>Stops the host and leaves the data directory for another host to start on.</summary>
    public ValueTask DisposeAsync(bool keepData)
    {
        _keepData = keepData;
        return DisposeAsync();
    }

    private sealed class FromProxy : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = IPAddress.Parse(ProxyAddress);
                return nextMiddleware(context);
            });
            next(app);
        };
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing || _keepData) return;
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public sealed class Account(string email, string password)
{
    public string Email { get; } = email;

    public string Password { get; set; } = password;

    public string UserId { get; set; } = "";

    public string PersonalOrganization { get; set; } = "";

    public string? AccessToken { get; set; }

    public string? RefreshToken { get; set; }

    public bool MfaEnabled { get; set; }

    public List<string> RecoveryCodes { get; } = [];
}

public sealed record Answer(HttpStatusCode Status, string Body, TimeSpan? RetryAfter, string? MediaType, string Request, Uri? Location = null)
{
    public JsonNode Expect(HttpStatusCode status)
    {
        Assert.True(Status == status, $"{Request} answered {(int)Status}, expected {(int)status}: {Body}");
        return Body.Length == 0 ? new JsonObject() : JsonNode.Parse(Body)!;
    }

    public JsonNode Json => JsonNode.Parse(Body)!;
}

/// <summary>Every log message of the host, formatted, with its exception.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // The structured values too, in case a formatter leaves one out of the message.
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} [{values}] {exception}");
        }
    }
}

internal static class JsonExtensions
{
    public static string Text(this JsonNode node, string property) => node[property]!.GetValue<string>();

    /// <summary>A list route's page: its items (every list answers <c>{ "items": [...], "next_cursor": … }</c>).</summary>
    public static JsonArray Items(this JsonNode page) => page["items"]!.AsArray();

    /// <summary>
    /// The page's cursor to the next one, null on the last. Read under either spelling: some routes still answer with the
    /// default (camelCase) options until every body is snake_case.
    /// </summary>
    public static string? NextCursor(this JsonNode page) =>
        page["next_cursor"]?.GetValue<string>();

    public static JsonSerializerOptions Web { get; } = new(JsonSerializerDefaults.Web);
}
