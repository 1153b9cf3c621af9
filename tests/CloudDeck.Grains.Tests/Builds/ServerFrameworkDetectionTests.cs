using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.Grains.Builds.Executor;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// Detection of what a project is, from fixture package.json and config files as each framework's starter writes
/// them: static or server, how it starts, what its server needs in its environment, which URLs the edge serves itself,
/// and the reason the build log gives.
/// </summary>
public sealed class ServerFrameworkDetectionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("clouddeck-ssr-detect-").FullName;

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

    private static string Package(string dependencies, string scripts = """{"build":"x build"}""") =>
        $$"""{"name":"app","private":true,"scripts":{{scripts}},"dependencies":{{dependencies}}}""";

    [Fact]
    public void Next_with_output_export_is_a_static_export_and_otherwise_a_standalone_server_with_its_static_files_at_the_edge()
    {
        var export = FrameworkDetector.Detect(Fixture("next-export", ("package.json", Package("""{"next":"14.2.35"}""")),
            ("package-lock.json", "{}"), ("next.config.mjs", "const config = { output: 'export', images: { unoptimized: true } };\nexport default config;")));
        Assert.Equal(("nextjs", "out", null), (export.Framework, export.OutputDirectory, export.Server));
        Assert.Contains("next.config.mjs sets output: 'export'", export.Reason, StringComparison.Ordinal);

        var server = FrameworkDetector.Detect(Fixture("next-server", ("package.json", Package("""{"next":"14.2.35","react":"18.3.1"}""",
            """{"build":"next build","start":"next start"}""")), ("package-lock.json", "{}"), ("next.config.js", "module.exports = { reactStrictMode: true };")));
        Assert.Equal(("nextjs", "npm run build", ServerPackagings.NextStandalone), (server.Framework, server.BuildCommand, server.Packaging));
        Assert.Equal("npm start", server.Server!.StartCommand);
        Assert.Equal("0.0.0.0", server.Server.Environment!["HOSTNAME"]);
        Assert.Equal([new StaticRoute("/_next/static/", ".next/static/")], server.Server.StaticRoutes);
        // Next's own switch asks for the standalone output; the build runs in production mode.
        Assert.Equal("true", server.BuildEnvironment["NEXT_PRIVATE_STANDALONE"]);
        Assert.Equal("production", server.BuildEnvironment["NODE_ENV"]);
        Assert.Contains("next.config.js sets no output", server.Reason, StringComparison.Ordinal);

        var standalone = FrameworkDetector.Detect(Fixture("next-standalone", ("package.json", Package("""{"next":"15.0.0"}""")),
            ("next.config.ts", "const nextConfig = {\n  output: \"standalone\",\n};\nexport default nextConfig;")));
        Assert.Equal(ServerPackagings.NextStandalone, standalone.Packaging);
        Assert.False(standalone.BuildEnvironment.ContainsKey("NEXT_PRIVATE_STANDALONE"));
        Assert.Contains("next.config.ts sets output: 'standalone'", standalone.Reason, StringComparison.Ordinal);
        // No start script: Next's own CLI through node_modules/.bin.
        Assert.Equal("./node_modules/.bin/next start", standalone.Server!.StartCommand);
    }

    [Fact]
    public void Nuxt_builds_a_nitro_server_in_dot_output_and_nuxt_generate_is_a_static_site()
    {
        var server = FrameworkDetector.Detect(Fixture("nuxt", ("package.json", Package("""{"nuxt":"^3.13.0","vue":"latest"}""",
            """{"build":"nuxt build","dev":"nuxt dev","generate":"nuxt generate","preview":"nuxt preview"}"""))));
        Assert.Equal(("nuxt", ".output", ServerPackagings.NuxtOutput), (server.Framework, server.OutputDirectory, server.Packaging));
        Assert.Equal("node server/index.mjs", server.Server!.StartCommand);
        Assert.Equal("0.0.0.0", server.Server.Environment!["HOST"]);
        var nuxtFiles = Assert.Single(server.Server.StaticRoutes!);
        Assert.Equal(("/_nuxt/", "public/_nuxt/"), (nuxtFiles.UrlPrefix, nuxtFiles.Directory));
        Assert.Equal(["builds/"], nuxtFiles.Except);

        var generated = FrameworkDetector.Detect(Fixture("nuxt-generate", ("package.json", Package("""{"nuxt":"^3.13.0"}""", """{"build":"nuxt generate"}"""))));
        Assert.Equal(("nuxt", ".output/public", null), (generated.Framework, generated.OutputDirectory, generated.Server));
        Assert.Contains("nuxt generate", generated.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void SvelteKit_is_told_by_its_adapter_and_adapter_auto_fails_saying_which_adapters_work()
    {
        const string Scripts = """{"build":"vite build","preview":"vite preview"}""";
        var node = FrameworkDetector.Detect(Fixture("kit-node", ("package.json", Package("""{"@sveltejs/kit":"^2","@sveltejs/adapter-node":"^5"}""", Scripts)),
            ("svelte.config.js", "import adapter from '@sveltejs/adapter-node';\nexport default { kit: { adapter: adapter({ out: 'server-build' }) } };")));
        Assert.Equal(("sveltekit", ServerPackagings.PrunedRoot, "node server-build"), (node.Framework, node.Packaging, node.Server!.StartCommand));
        Assert.Equal([new StaticRoute("/_app/immutable/", "server-build/client/_app/immutable/")], node.Server.StaticRoutes);
        Assert.Equal(("0.0.0.0", "x-forwarded-host", "x-forwarded-proto"),
            (node.Server.Environment!["HOST"], node.Server.Environment["HOST_HEADER"], node.Server.Environment["PROTOCOL_HEADER"]));
        Assert.Contains("svelte.config.js uses @sveltejs/adapter-node", node.Reason, StringComparison.Ordinal);

        var @static = FrameworkDetector.Detect(Fixture("kit-static", ("package.json", Package("""{"@sveltejs/kit":"^2","@sveltejs/adapter-static":"^3"}""", Scripts)),
            ("svelte.config.js", "import adapter from \"@sveltejs/adapter-static\";\nexport default { kit: { adapter: adapter({ pages: 'site' }) } };")));
        Assert.Equal(("sveltekit", "site", null), (@static.Framework, @static.OutputDirectory, @static.Server));

        var auto = Assert.Throws<BuildStepFailedException>(() => FrameworkDetector.Detect(Fixture("kit-auto",
            ("package.json", Package("""{"@sveltejs/kit":"^2","@sveltejs/adapter-auto":"^3"}""", Scripts)),
            ("svelte.config.js", "import adapter from '@sveltejs/adapter-auto';\nexport default { kit: { adapter: adapter() } };"))));
        Assert.Contains("@sveltejs/adapter-auto", auto.Message, StringComparison.Ordinal);
        Assert.Contains("@sveltejs/adapter-node", auto.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Astro_is_static_by_default_and_a_server_with_the_node_adapter()
    {
        var @static = FrameworkDetector.Detect(Fixture("astro-static", ("package.json", Package("""{"astro":"^5"}""", """{"build":"astro build"}""")),
            ("astro.config.mjs", "import { defineConfig } from 'astro/config';\nexport default defineConfig({});")));
        Assert.Equal(("astro", "dist", null), (@static.Framework, @static.OutputDirectory, @static.Server));

        var server = FrameworkDetector.Detect(Fixture("astro-node", ("package.json", Package("""{"astro":"^5","@astrojs/node":"^9"}""", """{"build":"astro build"}""")),
            ("astro.config.mjs", "import node from '@astrojs/node';\nexport default { output: 'server', adapter: node({ mode: 'standalone' }) };")));
        Assert.Equal(("astro", "node ./dist/server/entry.mjs"), (server.Framework, server.Server!.StartCommand));
        Assert.Equal([new StaticRoute("/_astro/", "dist/client/_astro/")], server.Server.StaticRoutes);
        Assert.Equal("0.0.0.0", server.Server.Environment!["HOST"]);

        Assert.Throws<BuildStepFailedException>(() => FrameworkDetector.Detect(Fixture("astro-middleware",
            ("package.json", Package("""{"astro":"^5","@astrojs/node":"^9"}""")),
            ("astro.config.mjs", "import node from '@astrojs/node';\nexport default { adapter: node({ mode: 'middleware' }) };"))));
    }

    [Fact]
    public void React_Router_and_Remix_serve_their_build_and_an_express_app_is_a_pruned_node_server()
    {
        var router = FrameworkDetector.Detect(Fixture("react-router", ("package.json", Package(
            """{"@react-router/node":"7.9.0","@react-router/serve":"7.9.0","react-router":"7.9.0"}""",
            """{"build":"react-router build","start":"react-router-serve ./build/server/index.js"}"""))));
        Assert.Equal(("react-router", "npm start"), (router.Framework, router.Server!.StartCommand));
        Assert.Equal([new StaticRoute("/assets/", "build/client/assets/")], router.Server.StaticRoutes);

        var spa = FrameworkDetector.Detect(Fixture("react-router-spa", ("package.json", Package("""{"@react-router/dev":"7.9.0"}""")),
            ("react-router.config.ts", "export default { ssr: false } satisfies Config;")));
        Assert.Equal(("react-router", "build/client", null), (spa.Framework, spa.OutputDirectory, spa.Server));

        var remix = FrameworkDetector.Detect(Fixture("remix", ("package.json", Package("""{"@remix-run/serve":"2.17.0"}""", "{}"))));
        Assert.Equal(("remix", "./node_modules/.bin/remix vite:build", "./node_modules/.bin/remix-serve ./build/server/index.js"),
            (remix.Framework, remix.BuildCommand, remix.Server!.StartCommand));

        var express = FrameworkDetector.Detect(Fixture("express", ("package.json", Package("""{"express":"^4.21.0"}""", """{"start":"node index.js"}""")),
            ("package-lock.json", "{}")));
        Assert.Equal(("node", ServerPackagings.PrunedRoot, "npm start"), (express.Framework, express.Packaging, express.Server!.StartCommand));
        Assert.Contains("express", express.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_project_setting_and_clouddeck_json_override_detection_and_the_file_wins()
    {
        var root = Fixture("override", ("package.json", Package("""{"next":"14.2.35"}""", """{"build":"next build","start":"next start"}""")));
        // The project's setting: run it as a plain node app from its root.
        var setting = FrameworkDetector.Detect(root, framework: "node");
        Assert.Equal(("node", "npm start", ServerPackagings.PrunedRoot), (setting.Framework, setting.Server!.StartCommand, setting.Packaging));
        Assert.Contains("the project's framework setting is node", setting.Reason, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(root, "clouddeck.json"), """{ "framework": "other", "outputDirectory": "site", "buildCommand": "make site" }""");
        var (overrides, fromFile) = ProjectBuildConfig.Merge(root, new BuildOverrides(Framework: "node", InstallCommand: "npm ci"));
        Assert.Equal(["framework", "buildCommand", "outputDirectory"], fromFile);
        var file = FrameworkDetector.Detect(root, overrides);
        Assert.Equal(("other", "npm ci", "make site", "site", null), (file.Framework, file.InstallCommand, file.BuildCommand, file.OutputDirectory, file.Server));

        File.WriteAllText(Path.Combine(root, "clouddeck.json"), """{ "framework": "rails" }""");
        var wrong = Assert.Throws<BuildStepFailedException>(() => ProjectBuildConfig.Merge(root, new BuildOverrides()));
        Assert.Contains("clouddeck.json: framework must be one of", wrong.Message, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(root, "clouddeck.json"), """{ "startCommand": 42 }""");
        Assert.Contains("startCommand", Assert.Throws<BuildStepFailedException>(() => ProjectBuildConfig.Merge(root, new BuildOverrides())).Message, StringComparison.Ordinal);
    }
}
