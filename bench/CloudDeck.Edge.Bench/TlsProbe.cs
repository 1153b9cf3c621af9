using System.Diagnostics;

namespace CloudDeck.Edge.Bench;

/// <summary>
/// What a server's handshakes are made of, seen by <c>openssl s_client</c>: the protocol and cipher it picks, and whether a
/// second connection offering the first one's session (ticket) is resumed. A handshake-rate comparison is only fair when
/// both sides answer these alike: a resumed handshake skips the key exchange's signature and certificate.
/// </summary>
internal static class TlsProbe
{
    public sealed record Result(string Protocol, string Cipher, bool Resumes)
    {
        public override string ToString() => $"{Protocol}, {Cipher}, {(Resumes ? "resumes sessions" : "no resumption (full handshake every time)")}";
    }

    public static async Task<Result> RunAsync(int port, string? serverName, string path, string work)
    {
        var session = Path.Combine(work, $"probe-{port}.session");
        var first = await SClientAsync(port, serverName, path, ["-sess_out", session]);
        var second = await SClientAsync(port, serverName, path, ["-sess_in", session]);
        return new Result(Field(first, "Protocol"), Field(first, "Cipher"), second.Contains("\nReused,", StringComparison.Ordinal));
    }

    private static async Task<string> SClientAsync(int port, string? serverName, string path, string[] extra)
    {
        var start = new ProcessStartInfo("openssl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (string[])["s_client", "-connect", $"127.0.0.1:{port}", "-ign_eof", .. ServerNameArguments(serverName), .. extra])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        // A request, so the server's session tickets (sent after the TLS 1.3 handshake) are read before the connection closes.
        await process.StandardInput.WriteAsync($"GET {path} HTTP/1.1\r\nHost: {serverName ?? "localhost"}\r\nConnection: close\r\n\r\n");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(timeout.Token);
        return "\n" + await output + "\n" + await errors;
    }

    private static string[] ServerNameArguments(string? serverName) => serverName is null ? ["-noservername"] : ["-servername", serverName];

    /// <summary>A value of s_client's session summary ("    Protocol  : TLSv1.3", "    Cipher    : …").</summary>
    private static string Field(string output, string name)
    {
        foreach (var line in output.Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith(name, StringComparison.Ordinal) && trimmed.IndexOf(':', StringComparison.Ordinal) is var colon and > 0 &&
                trimmed[..colon].Trim() == name)
            {
                return trimmed[(colon + 1)..].Trim();
            }
        }

        return "?";
    }
}
