using System.CommandLine;
using System.Text.Json.Nodes;
using CloudDeck.Cli.Api;
using CloudDeck.Cli.Config;
using Spectre.Console;

namespace CloudDeck.Cli.Commands;

/// <summary><c>deck login</c>, <c>deck logout</c>, <c>deck whoami</c>.</summary>
public static class AuthCommands
{
    public const string PasswordVariable = "CLOUDDECK_PASSWORD";

    public static Command Login()
    {
        var email = new Option<string?>("--email") { Description = "The account's email (prompted for on a terminal)." };
        var passwordStdin = new Option<bool>("--password-stdin")
        {
            Description = $"Read the password from the first line of stdin (default: ${PasswordVariable}, else a prompt).",
        };
        var code = new Option<string?>("--code") { Description = "The authenticator code, for accounts with two-factor login." };
        var sso = new Option<string?>("--sso") { Description = "Sign in with this identity provider in a browser (see GET /api/v1/auth/sso/providers)." };
        var noBrowser = new Option<bool>("--no-browser") { Description = "With --sso: only print the address to open, do not open a browser." };
        var command = new Command("login", "Log in with email and password, with an identity provider (--sso), or store an API token (--token).")
        {
            email, passwordStdin, code, sso, noBrowser,
        };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var token = parse.GetValue(Context.TokenOption);
            StoredCredentials credentials;
            if (token is { Length: > 0 })
            {
                using var client = new ApiClient(context.Api, token, store: null);
                var me = await client.GetAsync("api/v1/me", cancellationToken);
                credentials = new StoredCredentials { Email = Fields.Text(me, "email"), Token = token };
            }
            else if (parse.GetValue(sso) is { Length: > 0 } provider)
            {
                credentials = await SsoLogin.LoginAsync(context, provider, !parse.GetValue(noBrowser), parse.GetValue(code), cancellationToken);
            }
            else
            {
                credentials = await PasswordLoginAsync(context, parse.GetValue(email), parse.GetValue(passwordStdin), parse.GetValue(code), cancellationToken);
            }

            context.Store.Set(context.Api, credentials);
            context.Out.Line($"logged in to {context.Api} as {credentials.Email}");
            return Program.Ok;
        }));
        return command;
    }

    public static Command Logout()
    {
        var command = new Command("logout", "Forget the credentials stored for this API (and end the session).");
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            using var client = new ApiClient(context.Api, null, context.Store);
            context.Out.Line(await client.LogoutAsync(cancellationToken) ? $"logged out of {context.Api}" : $"no credentials stored for {context.Api}");
            return Program.Ok;
        }));
        return command;
    }

    public static Command WhoAmI()
    {
        var command = new Command("whoami", "Show who the credentials belong to and their organizations.");
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            using var client = context.AuthenticatedClient();
            var me = await client.GetAsync("api/v1/me", cancellationToken);
            context.Out.Line($"{Fields.Text(me, "email")} ({Fields.Text(me, "name")})");
            if (!Fields.Flag(me, "email_verified")) context.Out.Note("email not verified yet: API tokens need a verified email");
            var organizations = Fields.Items(Fields.Get(me, "organizations"))
                .Select(o => $"{Fields.Text(o, "slug")} ({Fields.Text(o, "role")})");
            context.Out.Line($"organizations: {string.Join(", ", organizations)}");
            return Program.Ok;
        }));
        return command;
    }

    private static async Task<StoredCredentials> PasswordLoginAsync(Context context, string? email, bool passwordStdin, string? code, CancellationToken cancellationToken)
    {
        var interactive = !Console.IsInputRedirected && context.Out.Rich;
        email ??= interactive ? AnsiConsole.Ask<string>("Email:") : throw new UsageException("--email is required when stdin is not a terminal");
        string? password;
        if (passwordStdin)
        {
            password = await Console.In.ReadLineAsync(cancellationToken);
        }
        else
        {
            password = Environment.GetEnvironmentVariable(PasswordVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
                : interactive ? AnsiConsole.Prompt(new TextPrompt<string>("Password:").Secret())
                : throw new UsageException($"no password: use --password-stdin or set ${PasswordVariable} when stdin is not a terminal");
        }

        if (string.IsNullOrEmpty(password)) throw new UsageException("the password is empty");
        using var client = new ApiClient(context.Api, null, store: null);
        var answer = await client.PostAsync("api/v1/auth/login", new JsonObject { ["email"] = email, ["password"] = password }, cancellationToken);
        if (Fields.Flag(answer, "mfa_required"))
        {
            code ??= interactive ? AnsiConsole.Ask<string>("Authenticator code:")
                : throw new UsageException("this account needs a two-factor code: pass --code");
            answer = await client.PostAsync("api/v1/auth/login/mfa", new JsonObject { ["challenge"] = Fields.Text(answer, "challenge"), ["code"] = code.Trim() }, cancellationToken);
        }

        var session = Sessions.FromTokenPair(answer, email);
        return session.AccessToken is null ? throw new ApiException(System.Net.HttpStatusCode.BadGateway, "the login answer had no access token") : session;
    }
}
