using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace CloudDeck.Grains.Sandbox;

/// <summary>
/// The egress-only network of one sandboxed process: its network namespace (made by <c>unshare --net</c> as root, so
/// nothing inside owns it and nothing inside can reconfigure it) gets a tap device from slirp4netns, a user-mode TCP/IP
/// stack on the host side that opens the sandbox's outbound connections as ordinary sockets. With
/// <c>--disable-host-loopback</c> the host's 127.0.0.1 (the silo, the gateway, PostgreSQL, the API's internal ports) is
/// unreachable; a server's port comes in only through a forward the platform adds on slirp4netns' API socket.
/// </summary>
internal sealed class SandboxNetwork : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(15);

    private readonly Process _slirp;
    private readonly bool _forwardsPort;

    private SandboxNetwork(Process slirp, bool forwardsPort)
    {
        _slirp = slirp;
        _forwardsPort = forwardsPort;
    }

    /// <summary>
    /// Waits until <paramref name="sandboxed"/> is in a network namespace of its own, attaches slirp4netns to it, and adds
    /// the port forward host <paramref name="forwardHost"/>:<paramref name="port"/> → sandbox :<paramref name="port"/>.
    /// </summary>
    public static async Task<SandboxNetwork> AttachAsync(Process sandboxed, string setpriv, string slirp4netns, string controlDirectory, int launch,
        int? port, string forwardHost, CancellationToken cancellationToken)
    {
        await WaitForOwnNamespaceAsync(sandboxed, cancellationToken);
        var api = port is null ? null : Path.Combine(controlDirectory, $"api-{launch}.sock");
        List<string> arguments =
        [
            "--pdeathsig", "KILL", slirp4netns,
            "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp",
        ];
        if (api is not null) arguments.AddRange(["--api-socket", api]);
        arguments.AddRange([sandboxed.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "tap0"]);
        var info = new ProcessStartInfo(setpriv)
        {
            UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment.Clear();
        info.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        var slirp = await Spawner.StartAsync(info);
        var network = new SandboxNetwork(slirp, api is not null);
        try
        {
            slirp.StandardInput.Close();
            var errors = slirp.StandardError.ReadToEndAsync(CancellationToken.None);
            _ = slirp.StandardOutput.ReadToEndAsync(CancellationToken.None);
            await WaitForDefaultRouteAsync(sandboxed, slirp, errors, cancellationToken);
            if (api is not null)
            {
                await AcceptLoopbackForwardsAsync(sandboxed.Id, cancellationToken);
                await ForwardAsync(api, forwardHost, port!.Value, cancellationToken);
            }

            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    private static async Task WaitForOwnNamespaceAsync(Process sandboxed, CancellationToken cancellationToken)
    {
        var ours = new FileInfo("/proc/self/ns/net").LinkTarget;
        var theirs = $"/proc/{sandboxed.Id}/ns/net";
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string? current = null;
            try
            {
                current = new FileInfo(theirs).LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }

            if (current is not null && current != ours) return;
            if (sandboxed.HasExited) throw new SandboxUnavailableException($"The sandbox exited with code {sandboxed.ExitCode} before its network was set up.");
            if (deadline.Elapsed > ReadyTimeout) throw new SandboxUnavailableException("The sandbox did not get a network namespace of its own in time.");
            await Task.Delay(1, cancellationToken);
        }
    }

    /// <summary>
    /// Waits until slirp4netns configured the sandbox's tap0 (its default route, the last thing it sets up, shows in the
    /// namespace's /proc/PID/net/route); packets the sandbox sends before slirp4netns reads them wait in the tap's queue.
    /// </summary>
    private static async Task WaitForDefaultRouteAsync(Process sandboxed, Process slirp, Task<string> errors, CancellationToken cancellationToken)
    {
        var routes = $"/proc/{sandboxed.Id}/net/route";
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                foreach (var line in await File.ReadAllLinesAsync(routes, cancellationToken))
                {
                    if (line.StartsWith("tap0\t00000000\t", StringComparison.Ordinal)) return;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }

            if (slirp.HasExited)
            {
                var said = await errors.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None);
                throw new SandboxUnavailableException($"slirp4netns could not give the sandbox its network (exit {slirp.ExitCode}): {said.Trim()}");
            }

            if (sandboxed.HasExited) throw new SandboxUnavailableException($"The sandbox exited with code {sandboxed.ExitCode} before its network was up.");
            if (deadline.Elapsed > ReadyTimeout) throw new SandboxUnavailableException("slirp4netns did not set up the sandbox's network in time.");
            await Task.Delay(1, cancellationToken);
        }
    }

    /// <summary>
    /// Lets the forward reach a server that listens on 127.0.0.1 inside (as most do by default): packets to a loopback
    /// address arriving on tap0 are dropped unless the namespace's route_localnet is on. Set as root from outside; the
    /// sandbox cannot change its own namespace's settings (it owns none of it).
    /// </summary>
    private static async Task AcceptLoopbackForwardsAsync(int pid, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("nsenter") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in new[]
                 {
                     $"--net=/proc/{pid}/ns/net", "--", "/bin/sh", "-c",
                     "echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet && echo 1 > /proc/sys/net/ipv4/conf/tap0/route_localnet",
                 })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var errors = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0) throw new SandboxUnavailableException($"Could not let the port forward reach the sandbox's loopback: {errors.Trim()}");
    }

    private static async Task ForwardAsync(string api, string host, int port, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        Socket socket;
        while (true)
        {
            // slirp4netns opens its API socket around the time it configures the tap: wait for it.
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(api), cancellationToken);
                break;
            }
            catch (SocketException) when (deadline.Elapsed < ReadyTimeout)
            {
                socket.Dispose();
                await Task.Delay(1, cancellationToken);
            }
        }

        using var connected = socket;
        var request = $$$"""{"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "{{{host}}}", "host_port": {{{port}}}, "guest_addr": "127.0.0.1", "guest_port": {{{port}}}}}""";
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, cancellationToken);
        socket.Shutdown(SocketShutdown.Send);
        var buffer = new byte[4096];
        var answer = new StringBuilder();
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0) answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        if (!answer.ToString().Contains("\"return\"", StringComparison.Ordinal))
        {
            throw new SandboxUnavailableException($"slirp4netns refused the port forward {host}:{port}: {answer}");
        }
    }

    /// <summary>
    /// Kills slirp4netns. One that forwards a port is waited for, so the port is free for what comes next (a server's
    /// restart); one that forwards nothing (a build command's) is reaped in the background, off the build's path (its
    /// exit took 15–20 ms measured).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_slirp.HasExited) _slirp.Kill();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }

        var exited = WaitAndDisposeAsync(_slirp);
        if (_forwardsPort) await exited;
    }

    private static async Task WaitAndDisposeAsync(Process slirp)
    {
        try
        {
            await slirp.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
        }

        slirp.Dispose();
    }
}

/// <summary>The sandbox could not be set up (not the tenant's command failing): the message says which part.</summary>
public sealed class SandboxUnavailableException(string message) : Exception(message);
