using Actors.Extensions.AdoNet;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.Runtime;

namespace Actors.Extensions.Tests.AdoNet;

/// <summary>
/// Runs this test assembly as a plain silo process, so a test can SIGKILL a real process: an in-process
/// silo, however ungracefully stopped, still writes itself Dead and answers probes while it stops.
/// </summary>
/// <remarks>
/// The child is <c>dotnet Actors.Extensions.Tests.dll</c> with this assembly as a .NET startup hook
/// (DOTNET_STARTUP_HOOKS): the runtime calls <see cref="global::StartupHook.Initialize"/> before xunit's
/// generated Main, and the hook never returns while the silo runs. Without <see cref="SpecVariable"/> the
/// hook returns at once, so the test runner itself is unaffected.
/// </remarks>
internal static class SiloProcess
{
    public const string ReadyMarker = "SILO-READY ";
    public const string SpecVariable = "ACTORS_EXTENSIONS_TEST_SILO";

    public static ChildProcess Start(string connectionString, string clusterId, string serviceId, bool fastFailureDetection)
    {
        var assembly = typeof(SiloProcess).Assembly.Location;
        return ChildProcess.Start("dotnet", [assembly], new Dictionary<string, string?>
        {
            ["DOTNET_STARTUP_HOOKS"] = assembly,
            [SpecVariable] = string.Join('\n', connectionString, clusterId, serviceId, fastFailureDetection ? "fast" : "default"),
        });
    }

    internal static void RunIfAsked()
    {
        var spec = Environment.GetEnvironmentVariable(SpecVariable);
        if (spec is null) return;
        var parts = spec.Split('\n');
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            PostgresSiloHarness.ConfigureSilo(silo, parts[0], parts[1], parts[2]);
            if (parts[3] == "fast") silo.ConfigureFastFailureDetection();
        });
        using var host = builder.Build();
        host.Start();
        Console.WriteLine(ReadyMarker + host.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString());
        // Until killed (the point) or until the test's stdin pipe closes (the test runner went away).
        Console.In.ReadToEnd();
        Environment.Exit(0);
    }
}
