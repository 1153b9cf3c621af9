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
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Api.Tests.Accounts;

/// <summary>
/// The real API (Program, embedded silo on SQLite) in this process with its own data directory, a manual
/// clock, and every log line captured at Trace. <see cref="Responses"/> keeps every body it answered.
/// </summary>
public sealed class InProcessApi : WebApplicationFactory<Program>
{
    public const string Password = "correct horse battery staple";

    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;
    private HttpClient? _http;
    private bool _keepData;

    /// <param name="services">Changes the test makes to the host's services (an in-memory trace exporter, say).</param>
    public InProcessApi(string? dataDirectory = null, IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        _services = services;
        DataDirectory = dataDirectory ?? Directory.CreateTempSubdirectory("clouddeck-api-").FullName;
        _settings = settings ?? new Dictionary<string, string?>();
    }

    public string DataDirectory { get; }

    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    public CapturedLogs Logs { get; } = new();

    public ConcurrentQueue<string> Responses { get; } = new();

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public HttpClient Http => _http ??= CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("CloudDeck:DataDirectory", DataDirectory);
        // Most tests exercise roles and builds, not plans: their organizations stay on Hobby, so lift Hobby's one-person
        // and one-build limits unless a test sets them (the quota tests do).
        builder.UseSetting("CloudDeck:Plans:Hobby:TeamMembers", "-1");
        builder.UseSetting("CloudDeck:Plans:Hobby:ConcurrentBuilds", "-1");
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
            _services?.Invoke(services);
        });
    }

    public async Task<Answer> SendAsync(HttpMethod method, string path, object? body = null, string? token = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is HttpContent content) request.Content = content;
        else if (body is string raw) request.Content = new StringContent(raw, System.Text.Encoding.UTF8, "application/json");
        else if (body is not null) request.Content = JsonContent.Create(body);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Responses.Enqueue(text);
        return new Answer(response.StatusCode, text, response.Headers.RetryAfter?.Delta,
            response.Content.Headers.ContentType?.MediaType, $"{method} {path}");
    }

    public Task<Answer> PostAsync(string path, object? body = null, string? token = null) => SendAsync(HttpMethod.Post, path, body, token);

    public Task<Answer> GetAsync(string path, string? token = null) => SendAsync(HttpMethod.Get, path, null, token);

    /// <param name="verifyEmail">Open the verification link before logging in, so the access token says the email is verified.</param>
    public async Task<Account> SignUpAndLoginAsync(string email, string password = Password, bool verifyEmail = false)
    {
        var signUp = (await PostAsync("/api/v1/auth/signup", new { email, password })).Expect(HttpStatusCode.Created);
        var account = new Account(email, password, signUp["account"]!["userId"]!.GetValue<string>(), signUp["personalOrganization"]!.GetValue<string>());
        if (verifyEmail) await VerifyEmailAsync(account);
        await LoginAsync(account);
        return account;
    }

    public async Task VerifyEmailAsync(Account account) =>
        (await PostAsync("/api/v1/auth/verify-email", new { token = await TokenFromOutboxAsync(account.Email, OutboxKinds.EmailVerification) }))
            .Expect(HttpStatusCode.NoContent);

    public async Task LoginAsync(Account account)
    {
        var login = (await PostAsync("/api/v1/auth/login", new { email = account.Email, password = account.Password })).Expect(HttpStatusCode.OK);
        account.AccessToken = login["accessToken"]!.GetValue<string>();
        account.RefreshToken = login["refreshToken"]!.GetValue<string>();
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

public sealed class Account(string email, string password, string userId, string personalOrganization)
{
    public string Email { get; } = email;

    public string Password { get; set; } = password;

    public string UserId { get; } = userId;

    public string PersonalOrganization { get; } = personalOrganization;

    public string? AccessToken { get; set; }

    public string? RefreshToken { get; set; }

    public bool MfaEnabled { get; set; }

    public List<string> RecoveryCodes { get; } = [];
}

public sealed record Answer(HttpStatusCode Status, string Body, TimeSpan? RetryAfter, string? MediaType, string Request)
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

    public static JsonSerializerOptions Web { get; } = new(JsonSerializerDefaults.Web);
}
