using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests;

namespace CloudDeck.Cli.Tests;

/// <summary>What one run of deck did: its exit code, and its stdout and stderr lines kept apart.</summary>
internal sealed record DeckRun(string[] Args, int ExitCode, string Output)
{
    /// <summary>ChildProcess marks stderr lines with "! ".</summary>
    public IReadOnlyList<string> Stdout => [.. Output.Split('\n').Where(l => !l.StartsWith("! ", StringComparison.Ordinal))];

    public IReadOnlyList<string> Stderr => [.. Output.Split('\n').Where(l => l.StartsWith("! ", StringComparison.Ordinal)).Select(l => l[2..])];

    public string Describe() => $"deck {string.Join(' ', Args)} exited {ExitCode}:\n{Output}";

    public DeckRun Expect(int exitCode)
    {
        Assert.True(ExitCode == exitCode, $"expected exit {exitCode}. {Describe()}");
        return this;
    }
}

/// <summary>A user signed up on the API under test: their password, personal organization and a fresh access token.</summary>
internal sealed record DeckUser(string Email, string Password, string Organization, string AccessToken);

/// <summary>
/// Runs the built <c>deck</c> (cli/bin/…/deck.dll) as a child process with its own config directory, so no test
/// reads or writes the developer's ~/.config/clouddeck, and none of their CLOUDDECK_* variables leak in.
/// </summary>
public abstract class DeckProcessTest : ProcessTest
{
    public const string Password = "correct horse battery staple";
    private static readonly TimeSpan DeckTimeout = TimeSpan.FromMinutes(5);

    protected DeckProcessTest()
    {
        ConfigDirectory = Path.Combine(DataDirectory, "deck-config");
        Work = Directory.CreateDirectory(Path.Combine(DataDirectory, "work")).FullName;
    }

    /// <summary>CLOUDDECK_CONFIG_DIR of every run.</summary>
    protected string ConfigDirectory { get; }

    /// <summary>The default working directory of deck, apart from the API's data (artifacts live there).</summary>
    protected string Work { get; }

    internal Task<DeckRun> Deck(params string[] args) => Deck(args, Work);

    /// <summary>The program and its first arguments: the built deck.dll through the dotnet host, unless a test runs another deck.</summary>
    protected virtual (string Program, string[] Arguments) DeckCommand()
    {
        var dll = RepoPaths.ProjectOutput("cli", "deck");
        Assert.True(File.Exists(dll), $"{dll} is missing: build cli/CloudDeck.Cli.csproj in the same configuration as the tests.");
        return (ApiHost.DotnetHost, [dll]);
    }

    internal async Task<DeckRun> Deck(string[] args, string workingDirectory, IReadOnlyDictionary<string, string?>? environment = null, string? stdin = null)
    {
        var (program, first) = DeckCommand();
        var env = new Dictionary<string, string?>
        {
            ["CLOUDDECK_API"] = null,
            ["CLOUDDECK_TOKEN"] = null,
            ["CLOUDDECK_PASSWORD"] = null,
            ["CLOUDDECK_CONFIG_DIR"] = ConfigDirectory,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>()) env[key] = value;
        var deck = Track(ChildProcess.Start(program, [.. first, .. args], env, workingDirectory));
        if (stdin is not null) await deck.StandardInput.WriteAsync(stdin);
        deck.StandardInput.Close();
        Assert.True(await deck.WaitForExitAsync(DeckTimeout, Cancellation), $"deck {string.Join(' ', args)} did not exit within {DeckTimeout}:\n{deck.Output}");
        return new DeckRun(args, deck.ExitCode!.Value, deck.Output);
    }

    internal static async Task<DeckUser> SignUpAsync(ApiHost api, string email)
    {
        using var signUp = await api.Http.PostAsJsonAsync("api/v1/auth/signup", new { email, password = Password }, Cancellation);
        await ExpectAsync(signUp, HttpStatusCode.Accepted);
        // Sign-up answers alike for new and registered addresses: the personal organization is read from the account.
        // A test may run with access tokens of a second: on a loaded machine one can expire between login and /me.
        for (var attempt = 1; ; attempt++)
        {
            using var login = await api.Http.PostAsJsonAsync("api/v1/auth/login", new { email, password = Password }, Cancellation);
            var accessToken = (await ExpectAsync(login, HttpStatusCode.OK))["access_token"]!.GetValue<string>();
            using var me = new HttpRequestMessage(HttpMethod.Get, "api/v1/me");
            me.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", accessToken);
            using var account = await api.Http.SendAsync(me, Cancellation);
            if (account.StatusCode == HttpStatusCode.Unauthorized && attempt < 5) continue;
            var organization = (await ExpectAsync(account, HttpStatusCode.OK))["organizations"]![0]!["slug"]!.GetValue<string>();
            return new DeckUser(email, Password, organization, accessToken);
        }
    }

    /// <summary>Signs up and logs deck in with email and password (the password on stdin).</summary>
    internal async Task<DeckUser> LoggedInAsync(ApiHost api, string email = "dev@example.com")
    {
        var user = await SignUpAsync(api, email);
        (await Deck(["login", "--api", api.BaseAddress.ToString(), "--email", email, "--password-stdin"], Work, stdin: Password + "\n")).Expect(0);
        return user;
    }

    internal static async Task<JsonNode> ExpectAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(response.StatusCode == status,
            $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}, expected {(int)status}: {text}");
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
    }
}
