using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.Grains.Builds;
using CloudDeck.Grains.Builds.Executor;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>Framework detection from fixture projects, each framework's documented defaults, and project settings winning.</summary>
public sealed class FrameworkDetectorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("clouddeck-detect-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Fixture(string name, params (string Path, string Text)[] files)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_root, name)).FullName;
        foreach (var (path, text) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(directory, path))!);
            File.WriteAllText(Path.Combine(directory, path), text);
        }

        return directory;
    }

    private static (string, string?, string?, string) Summary(BuildSettings s) => (s.Framework, s.InstallCommand, s.BuildCommand, s.OutputDirectory);

    private static string Package(string dependencies, string dev = "{}") =>
        $$"""{"name":"x","scripts":{"build":"do-build"},"dependencies":{{dependencies}},"devDependencies":{{dev}}}""";

    [Theory]
    [InlineData("vite", """{"vue":"^3"}""", """{"vite":"^5"}""", "vite", "dist")]
    [InlineData("astro", """{"astro":"^4"}""", """{"vite":"^5"}""", "astro", "dist")]
    [InlineData("cra", """{"react":"18","react-scripts":"5"}""", "{}", "create-react-app", "build")]
    [InlineData("vuecli", """{"vue":"^3"}""", """{"@vue/cli-service":"^5"}""", "vue", "dist")]
    [InlineData("plain-node", """{"lodash":"4"}""", "{}", "other", ".")]
    public void Node_frameworks_are_told_apart_by_their_dependencies(string name, string dependencies, string dev, string framework, string output)
    {
        var root = Fixture(name, ("package.json", Package(dependencies, dev)), ("package-lock.json", "{}"));
        Assert.Equal((framework, "npm install --no-audit --no-fund", "npm run build", output), Summary(FrameworkDetector.Detect(root)));
    }

    [Fact]
    public void Static_and_prebuilt_sites_need_no_commands_and_lockfiles_pick_the_package_manager()
    {
        Assert.Equal(("static", null, null, "."), Summary(FrameworkDetector.Detect(Fixture("static", ("index.html", "hi")))));
        Assert.Equal(("prebuilt", null, null, "public"),
            Summary(FrameworkDetector.Detect(Fixture("hugo", ("config.toml", "title = 'x'"), ("public/index.html", "hi")))));
        Assert.Equal(("other", null, null, "."), Summary(FrameworkDetector.Detect(Fixture("empty", ("README.md", "x")))));
        // "Other" looks for its output after the build, where it wrote it; a project's own output directory is taken as is.
        var other = Fixture("other-built", ("package.json", Package("{}")), ("build/index.html", "hi"));
        Assert.Equal("build", FrameworkDetector.Detect(other).OutputAfterBuild(other));
        Assert.Equal("site", FrameworkDetector.Detect(other, outputDirectory: "site").OutputAfterBuild(other));

        var yarn = FrameworkDetector.Detect(Fixture("yarn", ("package.json", Package("{}", """{"vite":"5"}""")), ("yarn.lock", "")));
        Assert.Equal(("vite", "yarn install --frozen-lockfile", "yarn run build", "dist"), Summary(yarn));
        Assert.Equal("yarn.lock", yarn.Lockfile);
        var noLock = FrameworkDetector.Detect(Fixture("nolock", ("package.json", Package("{}", """{"vite":"5"}"""))));
        Assert.Equal(("vite", "npm install", "npm run build", "dist"), Summary(noLock));
        Assert.Null(noLock.Lockfile);
    }

    [Fact]
    public void Project_settings_win_field_by_field_and_next_static_export_is_recognised()
    {
        var root = Fixture("override", ("package.json", Package("""{"react-scripts":"5"}""")), ("package-lock.json", "{}"));
        Assert.Equal(("create-react-app", "npm install --no-audit --no-fund", "npm run build:prod", "build"),
            Summary(FrameworkDetector.Detect(root, buildCommand: "npm run build:prod")));
        Assert.Equal(("vite", "pnpm i", "npm run build", "web/dist"),
            Summary(FrameworkDetector.Detect(root, framework: "vite", installCommand: "pnpm i", outputDirectory: "web/dist")));
        // An unknown framework name is ignored rather than trusted.
        Assert.Equal("create-react-app", FrameworkDetector.Detect(root, framework: "rails").Framework);

        Assert.True(FrameworkDetector.IsNextStaticExport(Fixture("next-export", ("next.config.mjs", "export default { output: 'export' };"))));
        Assert.False(FrameworkDetector.IsNextStaticExport(Fixture("next-server", ("next.config.js", "module.exports = { reactStrictMode: true };"))));
    }

    [Fact]
    public void Build_options_have_working_defaults_and_wrong_settings_stop_the_start_naming_the_setting()
    {
        static BuildOptions Read(params (string Key, string Value)[] settings) => BuildOptions.Read(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.ToDictionary(s => $"{BuildOptions.Section}:{s.Key}", s => (string?)s.Value)).Build(), "/var/lib/clouddeck");

        var defaults = Read();
        Assert.Equal((TimeSpan.FromMinutes(30), "/var/lib/clouddeck/builds", "/var/lib/clouddeck/build-cache", false),
            (defaults.Timeout, defaults.WorkDirectory, defaults.CacheDirectory, defaults.KeepWorkDirectories));
        Assert.Equal(TimeSpan.FromMinutes(5), Read(("Timeout", "00:05:00")).Timeout);
        Assert.Contains("CloudDeck:Builds:Timeout", Assert.Throws<InvalidOperationException>(() => Read(("Timeout", "00:00:00"))).Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Builds:CacheDirectory", Assert.Throws<InvalidOperationException>(() =>
            Read(("WorkDirectory", "/tmp/x"), ("CacheDirectory", "/tmp/x"))).Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Builds", Assert.Throws<InvalidOperationException>(() => Read(("Timeout", "soon"))).Message, StringComparison.Ordinal);
        Assert.Equal(["/opt/node-22"], Read(("NodeInstalls:0", "/opt/node-22")).NodeInstalls);
        Assert.Contains("CloudDeck:Builds:NodeInstalls", Assert.Throws<InvalidOperationException>(() => Read(("NodeInstalls:0", "opt/node"))).Message, StringComparison.Ordinal);
    }
    [Fact]
    public void A_package_with_a_start_script_and_no_static_framework_is_a_node_server_run_from_its_root()
    {
        var root = Fixture("node-server", ("package.json", """{"name":"api","scripts":{"start":"node server.js","build":"tsc"}}"""), ("package-lock.json", "{}"));
        var settings = FrameworkDetector.Detect(root, healthCheckPath: "/healthz");
        Assert.Equal(("node", "npm install --no-audit --no-fund", "npm run build", "."), Summary(settings));
        Assert.Equal(new ServerSpec("npm start", "/healthz", Framework: Frameworks.Node), settings.Server);

        // A Vite app with a start script (vite preview) stays a static site, as before.
        var vite = Fixture("vite-preview", ("package.json", """{"scripts":{"start":"vite preview","build":"vite build"},"devDependencies":{"vite":"5"}}"""));
        Assert.Equal(("vite", null), (FrameworkDetector.Detect(vite).Framework, FrameworkDetector.Detect(vite).Server));
        Assert.Null(FrameworkDetector.Detect(Fixture("plain", ("package.json", Package("{}")))).Server);
    }

    [Fact]
    public void Python_is_a_server_only_with_a_start_command_and_installs_its_requirements_beside_the_app()
    {
        var root = Fixture("flask", ("requirements.txt", "flask==3.0.0"), ("app.py", "print(1)"));
        Assert.Null(FrameworkDetector.Detect(root).Server);
        var settings = FrameworkDetector.Detect(root, startCommand: "python3 app.py");
        Assert.Equal("python", settings.Framework);
        Assert.Equal($"python3 -m pip install --no-cache-dir --disable-pip-version-check --target {FrameworkDetector.PythonPackages} -r requirements.txt",
            settings.InstallCommand);
        Assert.Equal(new ServerSpec("python3 app.py", "/", Framework: Frameworks.Python), settings.Server);
        Assert.Throws<BuildStepFailedException>(() => FrameworkDetector.Detect(root, framework: "python"));
    }

    [Fact]
    public void A_dotnet_web_project_is_published_and_its_dll_started_while_a_class_library_is_not_a_server()
    {
        var root = Fixture("webapp", ("Shop.Web.csproj", """<Project Sdk="Microsoft.NET.Sdk.Web"><PropertyGroup><AssemblyName>Shop</AssemblyName></PropertyGroup></Project>"""));
        var settings = FrameworkDetector.Detect(root);
        Assert.Equal(("dotnet", null, "dotnet publish Shop.Web.csproj -c Release -o publish", "."), Summary(settings));
        Assert.Equal("ASPNETCORE_URLS=http://0.0.0.0:$PORT exec dotnet publish/Shop.dll", settings.Server?.StartCommand);

        var library = Fixture("library", ("Lib.csproj", """<Project Sdk="Microsoft.NET.Sdk"></Project>"""));
        Assert.Null(FrameworkDetector.Detect(library).Server);
    }

    [Fact]
    public void An_explicit_start_command_makes_any_project_a_server_and_wins_over_the_detected_one()
    {
        var site = Fixture("static-with-start", ("index.html", "hi"), ("serve.sh", "busybox httpd -f -p $PORT"));
        var settings = FrameworkDetector.Detect(site, startCommand: "sh serve.sh", healthCheckPath: "/index.html");
        Assert.Equal(("static", "."), (settings.Framework, settings.OutputDirectory));
        Assert.Equal(new ServerSpec("sh serve.sh", "/index.html", Framework: Frameworks.Static), settings.Server);

        var node = Fixture("node-own-start", ("package.json", """{"scripts":{"start":"node a.js"}}"""));
        Assert.Equal("node server.js", FrameworkDetector.Detect(node, startCommand: "node server.js").Server?.StartCommand);
    }
}
