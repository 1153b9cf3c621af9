namespace Actors.Extensions;

/// <summary>Marks this assembly for Orleans' code generation and gives callers a handle on it.</summary>
public static class ExtensionsAssembly
{
    public static System.Reflection.Assembly Value => typeof(ExtensionsAssembly).Assembly;
}
