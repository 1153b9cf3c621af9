using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CloudDeck.Api.Tests;
using CloudDeck.Grains.Hosting;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// docker-compose.yml and deploy/kubernetes/: accepted by the tools that read them, and naming the images, ports,
/// probe paths and settings the hosts really have.
/// </summary>
public sealed partial class DeploymentFilesTests : ProcessTest
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Kubernetes_manifests_pass_kubectl_apply_dry_run_against_a_fake_API_server_replaying_discovery()
    {
        Need.Component(Requirement.Check(Which("kubectl") is not null, "kubectl", "apt-get install kubernetes-client"));
        await using var server = new FakeKubernetesDiscovery();
        var kubectl = await RunAsync(Which("kubectl")!, ["apply", "--dry-run=client", "--validate=false", "-o", "json", "--server", server.Address,
            "--namespace", "clouddeck-test", "-k", Path.Combine(RepoPaths.Root, "deploy", "kubernetes")],
            new() { ["KUBECONFIG"] = "/dev/null", ["HOME"] = DataDirectory });
        Assert.True(kubectl.ExitCode == 0, $"kubectl apply --dry-run=client failed:\n{kubectl.Output}");

        var list = JsonNode.Parse(string.Join('\n', kubectl.Output.Split('\n').Where(l => !l.StartsWith("! ", StringComparison.Ordinal))))!;
        var items = list["kind"]!.GetValue<string>() == "List" ? list["items"]!.AsArray().Select(i => i!).ToList() : [list];
        JsonNode Find(string kind, string name) => items.Single(i => i["kind"]!.GetValue<string>() == kind && i["metadata"]!["name"]!.GetValue<string>() == name);

        var silo = Find("Deployment", "clouddeck-silo");
        var api = Find("Deployment", "clouddeck-api");
        var siloContainer = silo["spec"]!["template"]!["spec"]!["containers"]![0]!;
        var apiContainer = api["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal("clouddeck/silo:latest", siloContainer["image"]!.GetValue<string>());
        Assert.Equal("clouddeck/api:latest", apiContainer["image"]!.GetValue<string>());

        // The ports are the hosts' own defaults, and the settings that choose them agree.
        var defaults = new CloudDeckClusterOptions();
        var siloEnv = Environment(siloContainer);
        Assert.Equal(defaults.SiloPort, Port(siloContainer, "silo"));
        Assert.Equal(defaults.GatewayPort, Port(siloContainer, "gateway"));
        Assert.Equal(siloEnv["CloudDeck__Cluster__SiloPort"], Port(siloContainer, "silo").ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(siloEnv["CloudDeck__Cluster__GatewayPort"], Port(siloContainer, "gateway").ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var container in new[] { siloContainer, apiContainer })
        {
            Assert.Equal(Environment(container)["CloudDeck__Management__Port"], Port(container, "management").ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal("/healthz", container["livenessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
            Assert.Equal("/readyz", container["readinessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
            Assert.Equal("management", container["readinessProbe"]!["httpGet"]!["port"]!.GetValue<string>());
            AssertSettingsAreReal(container);
        }

        Assert.Equal("http://+:8080", Environment(apiContainer)["ASPNETCORE_URLS"]);
        Assert.Equal(8080, Port(apiContainer, "http"));

        // Orleans' Kubernetes agent matches its pod by these labels against the silo's own cluster options.
        var podLabels = silo["spec"]!["template"]!["metadata"]!["labels"]!;
        Assert.Equal(CloudDeckSilo.ServiceId, podLabels["orleans/serviceId"]!.GetValue<string>());
        Assert.Equal(siloEnv["CloudDeck__Cluster__ClusterId"], podLabels["orleans/clusterId"]!.GetValue<string>());
        Assert.Equal("true", siloEnv["CloudDeck__Cluster__Kubernetes"]);
        var role = Find("Role", "clouddeck-silo");
        Assert.Contains(role["rules"]!.AsArray(), rule => rule!["resources"]!.AsArray().Any(r => r!.GetValue<string>() == "pods")
            && new[] { "get", "list", "watch" }.All(verb => rule["verbs"]!.AsArray().Any(v => v!.GetValue<string>() == verb)));
        Assert.Equal("clouddeck-silo", silo["spec"]!["template"]!["spec"]!["serviceAccountName"]!.GetValue<string>());
        var budget = Find("PodDisruptionBudget", "clouddeck-silo");
        Assert.Equal("clouddeck-silo", budget["spec"]!["selector"]!["matchLabels"]!["app.kubernetes.io/name"]!.GetValue<string>());
        Assert.Equal("clouddeck-api", Find("Service", "clouddeck-api")["spec"]!["selector"]!["app.kubernetes.io/name"]!.GetValue<string>());
        Assert.Contains(server.Requests, request => request.StartsWith("GET /apis", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_compose_file_passes_docker_compose_config_and_names_the_hosts_images_ports_and_settings()
    {
        Need.Component(Requirement.Check(Which("docker-compose") is not null, "docker-compose", "apt-get install docker-compose"));
        var compose = Path.Combine(RepoPaths.Root, "docker-compose.yml");
        var withoutKeys = await RunAsync(Which("docker-compose")!, ["-f", compose, "config"], new());
        Assert.NotEqual(0, withoutKeys.ExitCode);
        Assert.Contains("set POSTGRES_PASSWORD", withoutKeys.Output, StringComparison.Ordinal);

        var config = await RunAsync(Which("docker-compose")!, ["-f", compose, "config"], new()
        {
            ["POSTGRES_PASSWORD"] = "pw", ["CLOUDDECK_SIGNING_KEY"] = "k1", ["CLOUDDECK_SECRETS_KEY"] = "k2",
        });
        Assert.True(config.ExitCode == 0, $"docker-compose config failed:\n{config.Output}");
        var text = config.Output;
        foreach (var service in new[] { "postgres", "certs", "silo1", "silo2", "silo3", "api", "prometheus" })
        {
            Assert.Matches(new Regex($"^  {service}:$", RegexOptions.Multiline), text);
        }

        Assert.Contains("image: clouddeck/silo", text, StringComparison.Ordinal);
        Assert.Contains("image: clouddeck/api", text, StringComparison.Ordinal);
        Assert.Contains("dockerfile: silo/Dockerfile", text, StringComparison.Ordinal);
        Assert.Contains("dockerfile: api/Dockerfile", text, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "silo", "Dockerfile")) && File.Exists(Path.Combine(RepoPaths.Root, "api", "Dockerfile")));
        foreach (Match setting in EnvironmentKey().Matches(text))
        {
            AssertDocumented(setting.Groups[1].Value);
        }

        // Prometheus scrapes the management port every process is given.
        var management = Regex.Match(text, @"CloudDeck__Management__Port: '(\d+)'").Groups[1].Value;
        var scrape = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "deploy", "prometheus", "prometheus.yml"), Cancellation);
        foreach (var target in new[] { "api", "silo1", "silo2", "silo3" })
        {
            Assert.Contains($"\"{target}:{management}\"", scrape, StringComparison.Ordinal);
        }
    }

    private static Dictionary<string, string?> Environment(JsonNode container) =>
        container["env"]!.AsArray().ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!["value"]?.GetValue<string>());

    private static int Port(JsonNode container, string name) =>
        container["ports"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == name)!["containerPort"]!.GetValue<int>();

    /// <summary>Every CloudDeck setting a manifest sets is one the configuration reference documents; secrets come by reference.</summary>
    private static void AssertSettingsAreReal(JsonNode container)
    {
        foreach (var variable in container["env"]!.AsArray())
        {
            var name = variable!["name"]!.GetValue<string>();
            if (!name.StartsWith("CloudDeck__", StringComparison.Ordinal)) continue;
            AssertDocumented(name);
            if (name.EndsWith("Key", StringComparison.Ordinal) || name.EndsWith("ConnectionString", StringComparison.Ordinal))
            {
                Assert.True(variable["valueFrom"]?["secretKeyRef"] is not null, $"{name} must come from a secret, not a literal");
            }
        }
    }

    private static void AssertDocumented(string variable)
    {
        var key = variable.Replace("__", ":", StringComparison.Ordinal);
        var reference = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "configuration.md"));
        Assert.True(reference.Contains($"`{key}`", StringComparison.Ordinal), $"{key} is set by a deployment file but not in docs/configuration.md");
    }

    private async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args, Dictionary<string, string?> environment)
    {
        var tool = Track(ChildProcess.Start(file, args, environment, DataDirectory));
        Assert.True(await tool.WaitForExitAsync(ToolTimeout, Cancellation), $"{file} did not finish:\n{tool.Output}");
        return (tool.ExitCode!.Value, tool.Output);
    }

    private static string? Which(string command) =>
        (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, command)).FirstOrDefault(File.Exists);

    [GeneratedRegex(@"^\s+(CloudDeck__[A-Za-z_]+):", RegexOptions.Multiline)]
    private static partial Regex EnvironmentKey();
}
