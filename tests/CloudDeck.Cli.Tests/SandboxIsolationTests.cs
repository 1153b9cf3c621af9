using System.Text.RegularExpressions;
using CloudDeck.Api.Tests;
using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// Issue 14's acceptance for the local sandbox, in the real API process (embedded silo; builds and servers sandboxed by
/// bubblewrap and slirp4netns): a build's or a server's code that goes looking for the platform's keys, database, other
/// builds, the artifact store, the dependency cache, the platform's processes and its loopback ports finds none of it,
/// and with isolation required and no sandbox nothing runs.
/// </summary>
[Trait("needs", "sandbox")]
public sealed partial class SandboxIsolationTests : DeckProcessTest
{
    private static string? MissingSandbox =>
        Requirement.Check(File.Exists("/usr/bin/bwrap") && File.Exists("/usr/bin/slirp4netns"), "bubblewrap and slirp4netns",
            "apt-get install bubblewrap slirp4netns");

    [Fact]
    public async Task A_build_that_looks_for_the_platforms_keys_database_processes_other_builds_artifacts_and_cache_reads_none_of_it()
    {
        Need.Component(MissingSandbox);
        var api = await StartApiAsync(new Dictionary<string, string?> { ["CloudDeck__Builds__KeepWorkDirectories"] = "true" });
        var secrets = await PlatformSecretsAsync(api);
        var user = await LoggedInAsync(api);

        // Another build first: its file is in its kept work directory and in the artifact store.
        var other = await SiteAsync("other", new() { ["secret.txt"] = secrets.OtherBuild });
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "other", "--framework", "other",
            "--build-command", "mkdir -p dist && cp secret.txt dist/", "--output-directory", "dist"], other)).Expect(0);
        (await Deck(["deploy", "--prod", "--api", Url(api)], other)).Expect(0);

        var probe = await SiteAsync("probe", new() { ["probe.sh"] = ProbeScript(api, secrets) });
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "probe", "--framework", "other",
            "--build-command", "sh probe.sh && mkdir -p dist && echo ok > dist/index.html", "--output-directory", "dist"], probe)).Expect(0);
        var deploy = (await Deck(["deploy", "--prod", "--api", Url(api)], probe)).Expect(0);
        var log = string.Join('\n', (await Deck(["logs", DeploymentIdLine().Match(deploy.Output).Groups[1].Value, "--api", Url(api)], probe)).Expect(0).Stdout);

        AssertFoundNothing(log, secrets, DataDirectory);
        Assert.Contains("Sandbox: uid ", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_app_that_looks_for_the_same_things_reads_none_of_it()
    {
        Need.Component(MissingSandbox);
        Need.Component(NodeHarness.MissingReason);
        var api = await StartApiAsync(new Dictionary<string, string?> { ["CloudDeck__Servers__HealthCheckTimeout"] = "00:00:30" });
        var secrets = await PlatformSecretsAsync(api);
        var user = await LoggedInAsync(api);
        var site = await SiteAsync("server", new()
        {
            ["probe.sh"] = ProbeScript(api, secrets),
            ["package.json"] = """{ "name": "probe-server", "version": "1.0.0", "scripts": { "start": "sh probe.sh; exec node server.js" } }""",
            ["server.js"] = "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), () => console.log('listening'));",
        });
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "server", "--framework", "node"], site)).Expect(0);
        var deploy = (await Deck(["deploy", "--prod", "--api", Url(api)], site)).Expect(0);
        var id = DeploymentIdLine().Match(deploy.Output).Groups[1].Value;

        var runtime = "";
        for (var attempt = 0; attempt < 60 && !runtime.Contains("probe: done", StringComparison.Ordinal); attempt++)
        {
            runtime = string.Join('\n', (await Deck(["logs", id, "--runtime", "--api", Url(api)], site)).Stdout);
            if (!runtime.Contains("probe: done", StringComparison.Ordinal)) await Task.Delay(500, Cancellation);
        }

        AssertFoundNothing(runtime, secrets, DataDirectory);
        Assert.Contains("in a sandbox (uid ", runtime, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_isolation_required_and_no_sandbox_a_build_fails_at_once_saying_why_and_nothing_runs()
    {
        var api = await StartApiAsync(new Dictionary<string, string?>
        {
            ["CloudDeck__Builds__Isolation"] = "required",
            // A machine without bubblewrap, as far as this API can tell.
            ["CloudDeck__Sandbox__BubblewrapPath"] = "/nonexistent/bwrap",
        });
        var user = await LoggedInAsync(api);
        var ran = Path.Combine(Work, "ran.txt");
        var site = await SiteAsync("refused", new() { ["index.html"] = "hi" });
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "refused", "--framework", "other",
            "--build-command", $"echo ran > '{ran}'", "--output-directory", "."], site)).Expect(0);
        var deploy = (await Deck(["deploy", "--prod", "--api", Url(api)], site)).Expect(1);
        var log = string.Join('\n', (await Deck(["logs", DeploymentIdLine().Match(deploy.Output).Groups[1].Value, "--api", Url(api)], site)).Stdout);

        Assert.Contains("No sandbox can run on this machine (bubblewrap is not installed", log, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Builds:Isolation is required: nothing was run", log, StringComparison.Ordinal);
        Assert.DoesNotContain("$ echo ran", log, StringComparison.Ordinal);
        Assert.False(File.Exists(ran), "the build command ran");
        Assert.Contains("CloudDeck:Builds:Isolation=required: every build and server app will be refused", api.Process.Output, StringComparison.Ordinal);
    }

    /// <summary>What the probe must never print: the JWT signing key, a marker in the database, another build's file, the platform's own environment and command line.</summary>
    private sealed record PlatformSecrets(string SigningKey, string DatabaseMarker, string OtherBuild, int PostgresPort);

    private async Task<PlatformSecrets> PlatformSecretsAsync(ApiHost api)
    {
        var key = (await File.ReadAllTextAsync(Path.Combine(DataDirectory, "auth", "jwt-signing.key"), Cancellation)).Trim();
        var marker = "dbmarker" + Guid.NewGuid().ToString("N")[..16];
        // Another user whose email is written into the database, and nowhere else.
        await SignUpAsync(api, $"{marker}@example.com");
        // In the database's files (its write-ahead log first): the bytes a build reading them would print.
        var stored = Directory.GetFiles(DataDirectory, "clouddeck.db*").Select(f => System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(f)));
        Assert.Contains(stored, text => text.Contains(marker, StringComparison.Ordinal));
        var postgres = Track(await PostgresServer.StartAsync(Cancellation));
        return new PlatformSecrets(key, marker, "otherbuild" + Guid.NewGuid().ToString("N")[..16], postgres.Port);
    }

    /// <summary>
    /// Reads the data directory by relative and absolute paths, the keys and database by name, every /proc environ and
    /// cmdline it can see, and connects to the API's port and PostgreSQL on loopback and through slirp's host alias.
    /// </summary>
    private string ProbeScript(ApiHost api, PlatformSecrets secrets)
    {
        var data = DataDirectory;
        var apiPort = api.BaseAddress.Port;
        return $$"""
            D='{{data}}'
            echo "probe: start"
            for p in . .. ../.. ../../.. ../../../.. "$D" "$D/auth" "$D/builds" "$D/artifacts" "$D/build-cache" "$D/servers"; do ls -laR "$p" 2>&1 | head -n 80; done
            for f in "$D/auth/jwt-signing.key" "$D/clouddeck.db" "$D/clouddeck.db-wal" ../../../auth/jwt-signing.key ../../../clouddeck.db ../../auth/jwt-signing.key; do echo "read $f"; cat "$f" 2>&1 | head -c 200000; echo; done
            grep -r -a -h "otherbuild" "$D" /build /tmp /home 2>/dev/null | head -n 5
            for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do echo "== $f"; tr '\0' '\n' < "$f" 2>&1; done
            echo "visible pids: $(ls /proc | grep -c '^[0-9]')"
            kill -9 {{api.Process.Pid}}; echo "kill platform exit=$?"
            node -e "
              const net = require('node:net');
              const targets = [['127.0.0.1', {{apiPort}}], ['10.0.2.2', {{apiPort}}], ['127.0.0.1', {{secrets.PostgresPort}}], ['10.0.2.2', {{secrets.PostgresPort}}]];
              let left = targets.length;
              for (const [host, port] of targets) {
                const s = net.connect(port, host);
                s.setTimeout(3000, () => { console.log('connect ' + host + ':' + port + ' -> timeout'); s.destroy(); if (--left === 0) console.log('connects done'); });
                s.on('connect', () => { console.log('connect ' + host + ':' + port + ' -> CONNECTED'); s.destroy(); if (--left === 0) console.log('connects done'); });
                s.on('error', e => { console.log('connect ' + host + ':' + port + ' -> ' + e.code); if (--left === 0) console.log('connects done'); });
              }" 2>&1 || echo "no node"
            echo "probe: done"
            """;
    }

    private static void AssertFoundNothing(string log, PlatformSecrets secrets, string dataDirectory)
    {
        Assert.Contains("probe: done", log, StringComparison.Ordinal);
        // The reads were tried: the data directory does not exist in the sandbox's view.
        Assert.Contains($"ls: cannot access '{dataDirectory}': No such file or directory", log, StringComparison.Ordinal);
        Assert.DoesNotContain(secrets.SigningKey, log, StringComparison.Ordinal);
        Assert.DoesNotContain(secrets.DatabaseMarker, log, StringComparison.Ordinal);
        Assert.DoesNotContain(secrets.OtherBuild, log, StringComparison.Ordinal);
        // The platform's processes (their environment and command line) are not in the sandbox's /proc.
        Assert.DoesNotContain("CloudDeck.Api.dll", log, StringComparison.Ordinal);
        Assert.DoesNotContain("CloudDeck__DataDirectory", log, StringComparison.Ordinal);
        Assert.DoesNotContain("ASPNETCORE_URLS", log, StringComparison.Ordinal);
        // Signals: the platform's pid does not exist in the sandbox's PID namespace.
        Assert.Matches(@"kill platform exit=[1-9]", log);
        // Loopback services: the API's port and PostgreSQL are refused or unreachable, directly and through slirp's host alias.
        Assert.Contains("connects done", log, StringComparison.Ordinal);
        Assert.Equal(4, ConnectLine().Matches(log).Count);
        Assert.DoesNotContain("-> CONNECTED", log, StringComparison.Ordinal);
        Assert.True(int.Parse(VisiblePids().Match(log).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) < 20,
            "the sandbox sees the host's processes");
    }

    private async Task<string> SiteAsync(string name, Dictionary<string, string> files)
    {
        var site = Directory.CreateDirectory(Path.Combine(Work, name)).FullName;
        foreach (var (path, text) in files) await File.WriteAllTextAsync(Path.Combine(site, path), text, Cancellation);
        return site;
    }

    private static string Url(ApiHost api) => api.BaseAddress.ToString();

    [GeneratedRegex(@"deployment ([0-9a-f]{16}) \(")]
    private static partial Regex DeploymentIdLine();

    [GeneratedRegex(@"connect [0-9.]+:\d+ -> (ECONNREFUSED|ENETUNREACH|EHOSTUNREACH|timeout)")]
    private static partial Regex ConnectLine();

    [GeneratedRegex(@"visible pids: (\d+)")]
    private static partial Regex VisiblePids();
}
