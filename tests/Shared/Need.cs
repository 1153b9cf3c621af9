namespace CloudDeck.Testing;

/// <summary>The xunit half of <see cref="Requirement"/>: turns a missing component into Skip or Fail.</summary>
internal static class Need
{
    /// <param name="problem">null when the component is present (see <see cref="Requirement.Check"/>).</param>
    public static void Component(string? problem)
    {
        if (problem is null) return;
        if (Requirement.IsCi) Assert.Fail(problem);
        Assert.Skip(problem);
    }
}
