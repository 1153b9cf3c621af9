using System.Net;
using System.Text;
using System.Text.Json;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// A stand-in for a Kubernetes API server (none can run here) that replays only what <c>kubectl apply
/// --dry-run=client</c> asks of one: the legacy discovery documents (<c>/api</c>, <c>/apis</c>, and the
/// APIResourceList of each group version, as documented in the Kubernetes API concepts), and a 404 Status for every
/// object it looks up, so every object in the manifests is new.
/// </summary>
internal sealed class FakeKubernetesDiscovery : IAsyncDisposable
{
    private static readonly Dictionary<string, (string Name, string Kind, bool Namespaced)[]> Resources = new()
    {
        ["v1"] =
        [
            ("pods", "Pod", true), ("services", "Service", true), ("serviceaccounts", "ServiceAccount", true),
            ("secrets", "Secret", true), ("configmaps", "ConfigMap", true), ("persistentvolumeclaims", "PersistentVolumeClaim", true),
            ("namespaces", "Namespace", false),
        ],
        ["apps/v1"] = [("deployments", "Deployment", true), ("statefulsets", "StatefulSet", true)],
        ["policy/v1"] = [("poddisruptionbudgets", "PodDisruptionBudget", true)],
        ["rbac.authorization.k8s.io/v1"] = [("roles", "Role", true), ("rolebindings", "RoleBinding", true)],
    };

    private readonly HttpListener _listener = new();
    private readonly Task _serving;

    public FakeKubernetesDiscovery()
    {
        var port = ChildProcess.FreeTcpPort();
        Address = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Address + "/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public string Address { get; }

    public List<string> Requests { get; } = [];

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            var path = context.Request.Url!.AbsolutePath.TrimEnd('/');
            lock (Requests) Requests.Add($"{context.Request.HttpMethod} {path}");
            var (status, body) = Answer(path);
            var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(body));
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    private static (int Status, object Body) Answer(string path)
    {
        if (path == "/api")
        {
            return (200, new { kind = "APIVersions", versions = new[] { "v1" } });
        }

        if (path == "/apis")
        {
            var groups = Resources.Keys.Where(gv => gv.Contains('/')).Select(gv =>
            {
                var version = new { groupVersion = gv, version = gv.Split('/')[1] };
                return new { name = gv.Split('/')[0], versions = new[] { version }, preferredVersion = version };
            });
            return (200, new { kind = "APIGroupList", apiVersion = "v1", groups });
        }

        var groupVersion = path == "/api/v1" ? "v1" : path.StartsWith("/apis/", StringComparison.Ordinal) ? path["/apis/".Length..] : null;
        if (groupVersion is not null && Resources.TryGetValue(groupVersion, out var resources))
        {
            return (200, new
            {
                kind = "APIResourceList",
                apiVersion = "v1",
                groupVersion,
                resources = resources.Select(r => new
                {
                    name = r.Name, singularName = "", namespaced = r.Namespaced, kind = r.Kind,
                    verbs = new[] { "create", "delete", "get", "list", "patch", "update", "watch" },
                }),
            });
        }

        return (404, new { kind = "Status", apiVersion = "v1", status = "Failure", message = $"{path} not found", reason = "NotFound", code = 404 });
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _serving;
    }
}
