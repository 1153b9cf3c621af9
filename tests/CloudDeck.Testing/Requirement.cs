namespace CloudDeck.Testing;

/// <summary>
/// The project's rule for tests that need an external component (DESIGN.md §5): skip with a
/// message on a developer's machine, fail under CI. This class only produces the messages;
/// the test framework's Skip/Fail stays in the test projects so this library needs no xunit.
/// </summary>
public static class Requirement
{
    /// <summary>True when CI=true (any case) or CI=1.</summary>
    public static bool IsCi
    {
        get
        {
            var ci = Environment.GetEnvironmentVariable("CI")?.Trim();
            return string.Equals(ci, "true", StringComparison.OrdinalIgnoreCase) || ci == "1";
        }
    }

    /// <summary>"Missing git. Install it: apt-get install git. Skipped on this machine; under CI=true this fails."</summary>
    public static string Missing(string what, string? installHint = null) =>
        Explain(installHint is null ? $"Missing {what}." : $"Missing {what}. Install it: {installHint}.");

    /// <returns>null when the component is present, otherwise the message to skip or fail with.</returns>
    public static string? Check(bool present, string what, string? installHint = null) =>
        present ? null : Missing(what, installHint);

    /// <summary>Appends what happens next, so a skip reason read in a CI log is not mistaken for a pass.</summary>
    public static string Explain(string problem) =>
        problem + (IsCi ? " CI=true, so this test fails instead of skipping." : " Skipped on this machine; under CI=true this fails.");
}
