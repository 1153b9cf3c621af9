using System.Globalization;

namespace CloudDeck.Cli.Output;

/// <summary>Text deck prints, kept here so it is the same on a terminal and in a pipe, and testable.</summary>
public static class Format
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB"];

    /// <summary>"12 B", "1.5 KiB", "230 MiB": three significant digits at most.</summary>
    public static string Bytes(long bytes)
    {
        if (bytes < 1024) return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < Units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        var format = value >= 100 ? "0" : value >= 10 ? "0.#" : "0.##";
        return value.ToString(format, CultureInfo.InvariantCulture) + " " + Units[unit];
    }

    public static string Count(long count, string singular, string? plural = null) =>
        count.ToString(CultureInfo.InvariantCulture) + " " + (count == 1 ? singular : plural ?? singular + "s");

    /// <summary>"uploaded 1 file (12 B), 999 already stored".</summary>
    public static string UploadSummary(int uploaded, long uploadedBytes, int alreadyStored) =>
        $"uploaded {Count(uploaded, "file")} ({Bytes(uploadedBytes)}), {alreadyStored.ToString(CultureInfo.InvariantCulture)} already stored";

    public static string HashSummary(int files, long bytes) => $"hashed {Count(files, "file")} ({Bytes(bytes)})";

    /// <summary>A build log line as deck prints it: the text, with deck's own (system) lines marked.</summary>
    public static string LogLine(string? stream, string text) => stream == "system" ? "› " + text : text;

    /// <summary>Times in lists: local, to the minute, sortable.</summary>
    public static string Time(DateTimeOffset? time) =>
        time?.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "-";

    /// <summary>Plain tables: tab-separated, one row a line, so cut/awk can read them.</summary>
    public static IEnumerable<string> PlainRows(IEnumerable<IReadOnlyList<string>> rows) => rows.Select(row => string.Join('\t', row));
}
