using System.Text.RegularExpressions;
using CloudDeck.Api.Tests;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// Issue 14's acceptance, shared by every way tenant code runs (the local sandbox, Docker): a build's or a server's code
/// that goes looking for the platform's keys, database, other builds, the artifact store, the dependency cache, the
/// platform's processes and its loopback ports, in the real API process, finds none of it.
/// </summary>
public abstract partial class IsolationProbeTest : DeckProcessTest
{
    /// <summary>
    /// Another build first (its file stays in its kept work directory and in the artifact store), then a build that runs
    /// the probe; answers the probe build's log. <paramref name="settings"/> go to the API's environment.
    /// </summary>
    protected async Task<(string Log, PlatformSecrets Secrets)> ProbeBuildAsync(Dictionary<string, string?> settings, string hostAlias)
    {
        settings["CloudDeck__Builds__KeepWorkDirectories"] = "true";
        var api = await StartApiAsync(settings);
        var secrets = await PlatformSecretsAsync(api);
        var user = await LoggedInAsync(api);

        var other = await SiteAsync("other", new() { ["secret.txt"] = secrets.OtherBuild });
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "other", "--framework", "other",
            "--build-command", "mkdir -p dist && cp secret.txt dist/", "--output-directory", "dist"], other)).Expect(0);
        (await Deck(["deploy", "--prod", "--api", Url(api)], other)).Expect(0);

        var probe = await SiteAsync("probe", new() { ["probe.sh"] = ProbeScript(api, secrets, hostAlias) });
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "probe", "--framework", "other",
            "--build-command", "sh probe.sh && mkdir -p dist && echo ok > dist/index.html", "--output-directory", "dist"], probe)).Expect(0);
        var deploy = (await Deck(["deploy", "--prod", "--api", Url(api)], probe)).Expect(0);
        var log = string.Join('\n', (await Deck(["logs", DeploymentIdLine().Match(deploy.Output).Groups[1].Value, "--api", Url(api)], probe)).Expect(0).Stdout);
        return (log, secrets);
    }

    /// <summary>A Node server app whose start script runs the probe first; answers its runtime log once the probe is done.</summary>
    protected async Task<(string Log, PlatformSecrets Secrets)> ProbeServerAsync(Dictionary<string, string?> settings, string hostAlias)
    {
        settings["CloudDeck__Servers__HealthCheckTimeout"] = "00:00:30";
        var api = await StartApiAsync(settings);
        var secrets = await PlatformSecretsAsync(api);
        var user = await LoggedInAsync(api);
        var site = await SiteAsync("server", new()
        {
            ["probe.sh"] = ProbeScript(api, secrets, hostAlias),
            ["package.json"] = """{ "name": "probe-server", "version": "1.0.0", "scripts": { "start": "sh probe.sh; exec node server.js" } }""",
            // A lockfile without dependencies: the install needs no registry (a container here has no egress).
            ["package-lock.json"] = """{ "name": "probe-server", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": { "": { "name": "probe-server", "version": "1.0.0" } } }""",
            // All interfaces: in a container the edge reaches the app on the container's own address.
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

        return (runtime, secrets);
    }

    /// <summary>What the probe must never print: the JWT signing key, a marker in the database, another build's file, the platform's own environment and command line.</summary>
    protected sealed record PlatformSecrets(string SigningKey, string DatabaseMarker, string OtherBuild, int PostgresPort);

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
    /// cmdline it can see, and connects to the API's port and PostgreSQL on loopback and through <paramref name="hostAlias"/>
    /// (a shell expression: the address the host has on the sandbox's network).
    /// </summary>
    private string ProbeScript(ApiHost api, PlatformSecrets secrets, string hostAlias)
    {
        var data = DataDirectory;
        var apiPort = api.BaseAddress.Port;
        return $$"""
            D='{{data}}'
            HOST_ALIAS={{hostAlias}}
            echo "probe: host alias $HOST_ALIAS"
            export HOST_ALIAS
            echo "probe: start"
            for p in . .. ../.. ../../.. ../../../.. "$D" "$D/auth" "$D/builds" "$D/artifacts" "$D/build-cache" "$D/servers"; do ls -laR "$p" 2>&1 | head -n 80; done
            for f in "$D/auth/jwt-signing.key" "$D/clouddeck.db" "$D/clouddeck.db-wal" ../../../auth/jwt-signing.key ../../../clouddeck.db ../../auth/jwt-signing.key; do echo "read $f"; cat "$f" 2>&1 | head -c 200000; echo; done
            grep -r -a -h "otherbuild" "$D" /build /tmp /home 2>/dev/null | head -n 5
            for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do echo "== $f"; tr '\0' '\n' < "$f" 2>&1; done
            echo "visible pids: $(ls /proc | grep -c '^[0-9]')"
            kill -9 {{api.Process.Pid}}; echo "kill platform exit=$?"
            node -e "
              const net = require('node:net');
              const alias = process.env.HOST_ALIAS;
              const targets = [['127.0.0.1', {{apiPort}}], [alias, {{apiPort}}], ['127.0.0.1', {{secrets.PostgresPort}}], [alias, {{secrets.PostgresPort}}]];
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

    /// <param name="missingDataDirectory">What ls says about the data directory where it does not exist (GNU and busybox differ).</param>
    protected static void AssertFoundNothing(string log, PlatformSecrets secrets, string missingDataDirectory)
    {
        Assert.Contains("probe: done", log, StringComparison.Ordinal);
        // The reads were tried: the data directory does not exist in the sandbox's view.
        Assert.Contains(missingDataDirectory, log, StringComparison.Ordinal);
        Assert.Matches(@"probe: host alias \d+\.\d+\.\d+\.\d+", log);
        Assert.DoesNotContain(secrets.SigningKey, log, StringComparison.Ordinal);
        Assert.DoesNotContain(secrets.DatabaseMarker, log, StringComparison.Ordinal);
        Assert.DoesNotContain(secrets.OtherBuild, log, StringComparison.Ordinal);
        // The platform's processes (their environment and command line) are not in the sandbox's /proc.
        Assert.DoesNotContain("CloudDeck.Api.dll", log, StringComparison.Ordinal);
        Assert.DoesNotContain("CloudDeck__DataDirectory", log, StringComparison.Ordinal);
        Assert.DoesNotContain("ASPNETCORE_URLS", log, StringComparison.Ordinal);
        // Signals: the platform's pid does not exist in the sandbox's PID namespace.
        Assert.Matches(@"kill platform exit=[1-9]", log);
        // Loopback services: the API's port and PostgreSQL are refused or unreachable, directly and through the host's address on the sandbox's network.
        Assert.Contains("connects done", log, StringComparison.Ordinal);
        Assert.Equal(4, ConnectLine().Matches(log).Count);
        Assert.DoesNotContain("-> CONNECTED", log, StringComparison.Ordinal);
        Assert.True(int.Parse(VisiblePids().Match(log).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) < 20,
            "the sandbox sees the host's processes");
    }

    protected async Task<string> SiteAsync(string name, Dictionary<string, string> files)
    {
        var site = Directory.CreateDirectory(Path.Combine(Work, name)).FullName;
        foreach (var (path, text) in files) await File.WriteAllTextAsync(Path.Combine(site, path), text, Cancellation);
        return site;
    }

    private protected static string Url(ApiHost api) => api.BaseAddress.ToString();

    [GeneratedRegex(@"deployment ([0-9a-f]{16}) \(")]
    protected static partial Regex DeploymentIdLine();

    [GeneratedRegex(@"connect [0-9.]+:\d+ -> (ECONNREFUSED|ENETUNREACH|EHOSTUNREACH|timeout)")]
    private static partial Regex ConnectLine();

    [GeneratedRegex(@"visible pids: (\d+)")]
    private static partial Regex VisiblePids();
}
