using System.Globalization;
using CloudDeck.GrainInterfaces;

namespace CloudDeck.Grains.Accounts;

/// <summary>
/// People's and organizations' names. They are quoted in email subjects and bodies ("… invited you to Acme"),
/// so a line break in one could add a header or forge text in a message: control characters and line
/// separators are refused, not stripped, so what is stored is what the user typed; so are bidirectional controls,
/// which make a name read as different text.
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
        // A right-to-left override (U+202E) makes "Acme\u202Egpj.exe" read as another name in a subject line.
        if (name.Any(IsBidiControl)) throw new InvalidFieldException(field, "must not contain bidirectional control characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)");
        return name;
    }

    /// <summary>At most <paramref name="maxLength"/> characters, never ending in half a surrogate pair.</summary>
    public static string Truncate(string name, int maxLength)
    {
        if (name.Length <= maxLength) return name;
        var end = char.IsHighSurrogate(name[maxLength - 1]) ? maxLength - 1 : maxLength;
        return name[..end].TrimEnd();
    }

    private static bool IsBidiControl(char c) => c is (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069') or '\u200E' or '\u200F' or '\u061C';

    private static bool IsForbidden(char c) =>
        char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
