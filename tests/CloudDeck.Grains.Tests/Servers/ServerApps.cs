using System.Text;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Tests.Builds;
using CloudDeck.Grains.Tests.Projects;
using CloudDeck.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Tests.Servers;

/// <summary>
/// A real Node HTTP server (node:http on PORT) deployed the way a build hands it over: its files in the artifact store
/// and a manifest naming how it starts. <c>/healthz</c> answers 200, <c>/sick</c> always 503, <c>/env/NAME</c> the variable.
/// </summary>
internal static class ServerApps
{
    public const string ServerJs = """
        const http = require('node:http');
        const fs = require('node:fs');
        const version = fs.readFileSync('version.txt', 'utf8').trim();
        const port = Number(process.env.PORT);
        http.createServer((req, res) => {
          if (req.url === '/healthz') { res.writeHead(200); res.end('ok'); return; }
          if (req.url === '/sick') { res.writeHead(503); res.end('not yet'); return; }
          if (req.url.startsWith('/env/')) { res.end(process.env[req.url.slice(5)] || ''); return; }
          if (req.url === '/limits') { res.end(fs.readFileSync('/proc/self/limits', 'utf8')); return; }
          res.end('hello from ' + version);
        }).listen(port, '127.0.0.1', () => console.log('listening on ' + port + ' with key ' + process.env.API_KEY));
        """;

    public static readonly IReadOnlyDictionary<string, string?> FastSettings = new Dictionary<string, string?>
    {
        ["CloudDeck:Servers:MonitorInterval"] = "00:00:00.100",
        ["CloudDeck:Servers:HealthCheckTimeout"] = "00:00:20",
        ["CloudDeck:Servers:DrainGrace"] = "00:00:01",
        ["CloudDeck:Servers:StopGrace"] = "00:00:02",
        ["CloudDeck:Servers:PreviewIdleTimeout"] = "00:05:00",
    };

    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    public static void NeedNode() => Need.Component(Requirement.Check(Tools.Has("node"), "node", "apt-get install nodejs"));

    public static async Task<(AccountsSilo Silo, Caller Owner, IProjectGrain Project)> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var merged = new Dictionary<string, string?>(FastSettings);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) merged[key] = value;
        var (silo, owner) = await ProjectsSilo.StartAsync(settings: merged);
        var project = silo.Grains.GetGrain<IProjectGrain>("acme/api");
        await project.Create(owner, new ProjectSettings(GitUrl: "https://git.example.test/acme/api.git"));
        return (silo, owner, project);
    }

    /// <summary>The server's files stored, and the manifest a build of it would produce.</summary>
    /// <param name="serverJs">The server's source; <see cref="ServerJs"/> unless a test needs one that misbehaves.</param>
    public static async Task<DeploymentManifest> ManifestAsync(AccountsSilo silo, string version, string healthPath = "/healthz",
        string start = "node server.js", string serverJs = ServerJs)
    {
        var store = silo.Services.GetRequiredService<IArtifactStore>();
        var files = new List<ManifestFile>();
        foreach (var (path, text) in new[] { ("server.js", serverJs), ("version.txt", version) })
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            var sha = ProjectsSilo.Sha256Of(bytes);
            await store.PutAsync(sha, bytes.Length, new MemoryStream(bytes), CancellationToken.None);
            files.Add(new ManifestFile(path, sha, bytes.Length));
        }

        return new DeploymentManifest(files, null, new ServerSpec(start, healthPath));
    }

    /// <summary>Creates a deployment, reports its build ready with <paramref name="manifest"/>, and waits until it is no longer building.</summary>
    public static async Task<DeploymentView> DeployAsync(AccountsSilo silo, Caller owner, string target, DeploymentManifest manifest)
    {
        var source = target == DeploymentTargets.Production ? new DeploymentSource() : new DeploymentSource(GitRef: "feature");
        var created = await silo.Grains.GetGrain<IProjectGrain>("acme/api").Deploy(owner, source, target);
        var deployment = silo.Grains.GetGrain<IDeploymentGrain>(created.Id);
        await deployment.BuildFinished(DeploymentStatuses.Ready, manifest);
        return await Eventually(() => deployment.Get(owner), view => view.Status != DeploymentStatuses.Building, "the deployment to leave building");
    }

    public static IServerGrain Server(AccountsSilo silo, string id) => silo.Grains.GetGrain<IServerGrain>(id);

    public static async Task<string> GetAsync(ServerEndpoint endpoint, string path = "/") =>
        await Http.GetStringAsync($"http://{endpoint.Host}:{endpoint.Port}{path}");

    public static async Task<string?> ProductionAsync(AccountsSilo silo) =>
        (await silo.Grains.GetGrain<IAliasGrain>("api-acme.localhost").Get())?.DeploymentId;

    /// <summary>Polls until <paramref name="done"/> holds (every 50 ms, at most a minute), running <paramref name="between"/> between tries.</summary>
    public static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done, string what, Action? between = null)
    {
        var last = default(T);
        for (var attempt = 0; attempt < 1200; attempt++)
        {
            last = await read();
            if (done(last)) return last;
            between?.Invoke();
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"Waited a minute for {what}; last seen: {last}");
    }

    /// <summary>The deployment's runtime log as stored.</summary>
    public static async Task<IReadOnlyList<BuildLogLine>> RuntimeLogAsync(AccountsSilo silo, string id)
    {
        var page = await silo.Services.GetRequiredService<ILogStreamProvider>().GetStream<BuildLogLine>(RuntimeLogs.Namespace, id)
            .ReadAsync(LogPosition.First, 10_000);
        return [.. page.Items.Select(i => i.Item)];
    }

    public static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
