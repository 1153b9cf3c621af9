namespace CloudDeck.Grains;

/// <summary>Names this assembly for silo registration: <c>silo.AddGrains(GrainsAssembly.Value)</c>.</summary>
public static class GrainsAssembly
{
    public static System.Reflection.Assembly Value => typeof(GrainsAssembly).Assembly;
}
