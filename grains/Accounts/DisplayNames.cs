using System.Globalization;
using CloudDeck.GrainInterfaces;

namespace CloudDeck.Grains.Accounts;

/// <summary>
/// People's and organizations' names. They are quoted in email subjects and bodies ("… invited you to Acme"),
/// so a line break in one could add a header or forge text in a message: control characters and line
/// separators are refused, not stripped, so what is stored is what the user typed.
/// </summary>
public static class DisplayNames
{
    public const int MaxLength = 100;

    /// <summary>Trimmed, 1–<paramref name="maxLength"/> characters, without control characters or line breaks.</summary>
    /// <exception cref="InvalidFieldException">Naming <paramref name="field"/>.</exception>
    public static string Check(string? name, string field = "name", int maxLength = MaxLength)
    {
        name = name?.Trim() ?? "";
        if (name.Length is 0 || name.Length > maxLength) throw new InvalidFieldException(field, $"must be 1–{maxLength} characters");
        if (name.Any(IsForbidden)) throw new InvalidFieldException(field, "must not contain control characters or line breaks");
        return name;
    }

    /// <summary>At most <paramref name="maxLength"/> characters, never ending in half a surrogate pair.</summary>
    public static string Truncate(string name, int maxLength)
    {
        if (name.Length <= maxLength) return name;
        var end = char.IsHighSurrogate(name[maxLength - 1]) ? maxLength - 1 : maxLength;
        return name[..end].TrimEnd();
    }

    private static bool IsForbidden(char c) =>
        char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
