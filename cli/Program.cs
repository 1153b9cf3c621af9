using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;
using CloudDeck.Cli.Api;
using CloudDeck.Cli.Commands;

namespace CloudDeck.Cli;

/// <summary>
/// <c>deck</c>, the CloudDeck command line. Exit codes: 0 success, 1 the command failed (the API refused, a build
/// failed, the network is down), 2 bad usage (unknown command or option, missing link or login).
/// </summary>
public static class Program
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadUsage = 2;

    public static async Task<int> Main(string[] args)
    {
        var root = BuildRoot();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) await Console.Error.WriteLineAsync($"error: {error.Message}");
            await Console.Error.WriteLineAsync($"Run '{string.Join(' ', ["deck", .. CommandPath(parse), "--help"])}' for usage.");
            return BadUsage;
        }

        // Our own handler, not the library's: errors are one line with a chosen exit code, never a stack trace.
        return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("deck: deploy folders to CloudDeck and manage their deployments.");
        root.Options.Add(Context.ApiOption);
        root.Options.Add(Context.TokenOption);
        foreach (var option in root.Options.OfType<VersionOption>()) option.Action = new PrintVersion();
        foreach (var command in new[]
                 {
                     AuthCommands.Login(), AuthCommands.Logout(), AuthCommands.WhoAmI(),
                     ProjectCommands.Link(), ProjectCommands.Init(),
                     DeployCommand.Create(),
                     ProjectCommands.List(), LogsCommand.Create(), ProjectCommands.Promote(), ProjectCommands.Rollback(),
                     EnvCommands.Create(), BillingCommands.Create(), DomainCommands.Create(), NotificationCommands.Create(),
                     HealthCommand.Create(), VersionCommand(),
                 })
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

    public static string Version =>
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(Program).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    /// <summary>
    /// Wraps a command's work so every failure becomes one line on stderr and its exit code: API and I/O failures
    /// exit 1, usage mistakes found after parsing exit 2. Unexpected exceptions still surface (a bug should be loud).
    /// </summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Guarded(Func<ParseResult, CancellationToken, Task<int>> action) =>
        async (parse, cancellationToken) =>
        {
            try
            {
                return await action(parse, cancellationToken);
            }
            catch (UsageException e)
            {
                Output.Terminal.Error(e.Message);
                return BadUsage;
            }
            catch (ApiException e)
            {
                Output.Terminal.Error(e.Message);
                return Failed;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or System.Text.Json.JsonException)
            {
                Output.Terminal.Error(e.Message);
                return Failed;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Output.Terminal.Error("interrupted");
                return 130;
            }
        };

    private static Command VersionCommand()
    {
        var command = new Command("version", "Print the version of deck (also: deck --version).");
        command.SetAction(_ =>
        {
            Console.WriteLine(Version);
            return Ok;
        });
        return command;
    }

    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            if (result.Command is not RootCommand) names.Insert(0, result.Command.Name);
        }

        return names;
    }

    /// <summary>The same text as <c>deck version</c>, whatever the library's own version option would print.</summary>
    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            Console.WriteLine(Version);
            return Ok;
        }
    }
}
