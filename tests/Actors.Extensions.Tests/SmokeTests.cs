namespace Actors.Extensions.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void The_extensions_assembly_loads() => Assert.Equal("Actors.Extensions", Actors.Extensions.ExtensionsAssembly.Value.GetName().Name);
}
