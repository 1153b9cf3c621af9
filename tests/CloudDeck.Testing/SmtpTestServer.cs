using System.Text.Json;

namespace CloudDeck.Testing;

/// <summary>
/// A real SMTP server: nodemailer's <c>smtp-server</c> from npm, run by node (tests/js/smtp-server.mjs) on a loopback port.
/// Every message it accepts is kept, raw, in arrival order. Recipients whose address contains <c>reject</c> get a
/// permanent 550. Framework-neutral: tests turn <see cref="NodeHarness.MissingReason"/> into Skip or Fail.
/// </summary>
public sealed class SmtpTestServer : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private SmtpTestServer(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>What the server printed (for a failing assertion's message).</summary>
    public string Output => _process.Output;

    /// <param name="port">0 for any free port; a fixed one to come back on the port a silo already sends to.</param>
    /// <param name="reject">Recipients whose address contains this text are refused with 550.</param>
    /// <param name="quiet">Print a running count instead of each message (for the benchmark).</param>
    public static async Task<SmtpTestServer> StartAsync(int port = 0, string? reject = null, bool quiet = false, CancellationToken cancellationToken = default)
    {
        await NodeHarness.EnsureInstalledAsync(cancellationToken).ConfigureAwait(false);
        List<string> arguments = ["smtp-server.mjs", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        if (reject is not null) arguments.AddRange(["--reject", reject]);
        if (quiet) arguments.AddRange(["--quiet", "true"]);
        var process = ChildProcess.Start(NodeHarness.Node!, arguments, workingDirectory: NodeHarness.ScriptsDirectory);
        try
        {
            var listening = await process.WaitForOutputAsync(l => l.StartsWith("listening ", StringComparison.Ordinal), TimeSpan.FromSeconds(30), cancellationToken)
                .ConfigureAwait(false);
            return new SmtpTestServer(process, int.Parse(listening["listening ".Length..], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch
        {
            await process.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Every message accepted so far, oldest first.</summary>
    public IReadOnlyList<ReceivedEmail> Received =>
        [.. _process.Lines.Where(l => l.StartsWith("{\"event\":\"message\"", StringComparison.Ordinal)).Select(Parse)];

    /// <summary>In quiet mode: waits until the server has accepted <paramref name="count"/> messages in all.</summary>
    /// <exception cref="TimeoutException">It had not in time.</exception>
    public Task WaitForCountAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var line = $"{{\"event\":\"count\",\"received\":{count}}}";
        return _process.WaitForOutputAsync(l => l == line, timeout, cancellationToken);
    }

    /// <summary>Waits for a message to <paramref name="recipient"/> whose raw text contains <paramref name="containing"/>.</summary>
    /// <exception cref="TimeoutException">None arrived in time.</exception>
    public async Task<ReceivedEmail> WaitForAsync(string recipient, string containing, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var line = await _process.WaitForOutputAsync(l =>
            l.StartsWith("{\"event\":\"message\"", StringComparison.Ordinal) && Parse(l) is var m
            && m.To.Contains(recipient, StringComparer.OrdinalIgnoreCase) && m.Text.Contains(containing, StringComparison.Ordinal), timeout, cancellationToken)
            .ConfigureAwait(false);
        return Parse(line);
    }

    private static ReceivedEmail Parse(string line)
    {
        var root = JsonDocument.Parse(line).RootElement;
        return new ReceivedEmail(root.GetProperty("from").GetString() ?? "", [.. root.GetProperty("to").EnumerateArray().Select(t => t.GetString()!)],
            Convert.FromBase64String(root.GetProperty("raw").GetString()!));
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

/// <param name="Raw">The message as it arrived (RFC 5322, headers and MIME parts).</param>
public sealed record ReceivedEmail(string From, IReadOnlyList<string> To, byte[] Raw)
{
    /// <summary>The raw message as text (its parts may still be quoted-printable or base64 encoded).</summary>
    public string Text => System.Text.Encoding.UTF8.GetString(Raw);
}
