using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// The native deck (Native AOT, <c>./build.sh deck</c> → artifacts/deck/deck): no JIT and no reflection, so what the
/// managed deck does by reflection must have been generated at compile time. These run the same tests as the managed
/// deck's, through the same API.
/// </summary>
internal static class NativeDeck
{
    public static string Path => System.IO.Path.Combine(RepoPaths.Root, "artifacts", "deck", "deck");

    public static (string Program, string[] Arguments) Command()
    {
        Need.Component(Requirement.Check(File.Exists(Path), $"the native deck ({Path})", "./build.sh deck, which needs clang or gcc"));
        var managed = RepoPaths.ProjectOutput("cli", "deck");
        Assert.True(!File.Exists(managed) || File.GetLastWriteTimeUtc(Path) >= File.GetLastWriteTimeUtc(managed),
            $"{Path} is older than {managed}: run ./build.sh deck again (./build.sh test does).");
        return (Path, []);
    }
}

/// <summary>Health, version and usage errors, from the native deck.</summary>
public sealed class NativeDeckTests : DeckTests
{
    protected override (string Program, string[] Arguments) DeckCommand() => NativeDeck.Command();
}

/// <summary>Deploy, rollback and promote, a failing build, environment variables and a git project, from the native deck.</summary>
[Trait("needs", "pipeline")]
public sealed class NativeDeckPipelineTests : PipelineTests
{
    protected override (string Program, string[] Arguments) DeckCommand() => NativeDeck.Command();
}
