// The runtime looks for exactly this type: a class named StartupHook in no namespace (see SiloProcess).
#pragma warning disable CA1050 // must be in the global namespace
internal static class StartupHook
#pragma warning restore CA1050
{
    public static void Initialize() => Actors.Extensions.Tests.AdoNet.SiloProcess.RunIfAsked();
}
