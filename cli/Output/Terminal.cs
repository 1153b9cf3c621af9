using Spectre.Console;

namespace CloudDeck.Cli.Output;

/// <summary>
/// Where deck writes. Rich (Spectre progress bars, tables, colour) only when stdout is a terminal; otherwise plain
/// lines, since a pipe or a CI log cannot redraw a progress bar and scripts parse the lines.
/// </summary>
public sealed class Terminal
{
    public static Terminal Console { get; } = new(!System.Console.IsOutputRedirected);

    public Terminal(bool rich) => Rich = rich;

    public bool Rich { get; }

    public void Line(string text)
    {
        if (Rich) AnsiConsole.MarkupLine(Markup.Escape(text));
        else System.Console.Out.WriteLine(text);
    }

    /// <summary>Secondary information: dimmed on a terminal, a plain line otherwise.</summary>
    public void Note(string text)
    {
        if (Rich) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(text)}[/]");
        else System.Console.Out.WriteLine(text);
    }

    public static void Error(string message) => System.Console.Error.WriteLine($"error: {message}");

    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        if (!Rich)
        {
            foreach (var line in Format.PlainRows(rows)) System.Console.Out.WriteLine(line);
            return;
        }

        var table = new Table().Border(TableBorder.Simple);
        foreach (var header in headers) table.AddColumn(Markup.Escape(header));
        foreach (var row in rows) table.AddRow([.. row.Select(Markup.Escape)]);
        AnsiConsole.Write(table);
    }

    /// <summary>
    /// Runs <paramref name="work"/> with a progress reporter: a Spectre bar on a terminal, nothing in a pipe (the
    /// caller prints a summary line when it is done).
    /// </summary>
    public async Task<T> ProgressAsync<T>(string description, long total, Func<IProgress<long>, Task<T>> work)
    {
        if (!Rich || total == 0) return await work(new Progress<long>(_ => { }));
        T result = default!;
        await AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(description), maxValue: total);
                result = await work(new Counter(task));
            });
        return result;
    }

    /// <summary>Adds to the bar directly: Progress&lt;T&gt; posts to a sync context and would lag behind parallel uploads.</summary>
    private sealed class Counter(ProgressTask task) : IProgress<long>
    {
        public void Report(long value) => task.Increment(value);
    }
}
