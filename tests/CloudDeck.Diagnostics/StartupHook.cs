using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;
using CloudDeck.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

/// <summary>
/// The .NET startup hook (<c>DOTNET_STARTUP_HOOKS</c>, see <see cref="DiagnosticsHook"/>): runs before the host's Main.
/// Every HostApplicationBuilder (and so WebApplicationBuilder) announces <c>HostBuilding</c> on the
/// "Microsoft.Extensions.Hosting" listener with an <see cref="IHostBuilder"/> adapter whose ConfigureServices callbacks run
/// before the service provider is built: the same seam WebApplicationFactory uses. Only CloudDeck's silo and API are
/// changed; anything else the environment reaches (deck, dotnet tools) is left alone.
/// Orleans loads every application part a loaded assembly names, and this one names CloudDeck.Api (its /_diag endpoints
/// use the API's request parsing), which a silo process does not ship: such assemblies load from beside this one.
/// </summary>
#pragma warning disable CA1050 // The runtime looks for a type named exactly StartupHook, in no namespace.
internal static class StartupHook
#pragma warning restore CA1050
{
    private const string HostingListener = "Microsoft.Extensions.Hosting";
    private const string HostBuildingEvent = "HostBuilding";

    public static void Initialize()
    {
        AssemblyLoadContext.Default.Resolving += FromHookDirectory;
        DiagnosticListener.AllListeners.Subscribe(new Listeners());
    }

    private static Assembly? FromHookDirectory(AssemblyLoadContext context, AssemblyName name)
    {
        var path = Path.Combine(HookDirectory, name.Name + ".dll");
        return File.Exists(path) ? context.LoadFromAssemblyPath(path) : null;
    }

    private static string HookDirectory => Path.GetDirectoryName(typeof(DiagnosticsHook).Assembly.Location)!;

    private static void AddDiagnostics(HostBuilderContext context, IServiceCollection services)
    {
        switch (context.HostingEnvironment.ApplicationName)
        {
            case DiagnosticsHook.SiloApplication:
                services.AddCloudDeckDiagnostics();
                break;
            case DiagnosticsHook.ApiApplication:
                services.AddCloudDeckDiagnosticEndpoints();
                break;
        }
    }

    private sealed class Listeners : IObserver<DiagnosticListener>
    {
        public void OnNext(DiagnosticListener listener)
        {
            if (listener.Name == HostingListener) listener.Subscribe(new HostBuilding());
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }

    private sealed class HostBuilding : IObserver<KeyValuePair<string, object?>>
    {
        public void OnNext(KeyValuePair<string, object?> value)
        {
            if (value.Key == HostBuildingEvent && value.Value is IHostBuilder host) host.ConfigureServices(AddDiagnostics);
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }
}
