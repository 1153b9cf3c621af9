using System.Net;
using System.Text.Json.Nodes;

namespace CloudDeck.Cli.Tests.Frameworks;

/// <summary>
/// Real Nuxt 3, SvelteKit (adapter-node and adapter-static), Astro (@astrojs/node and static), React Router 7 and Express
/// apps from the npm registry, each deployed with <c>deck deploy --prod</c>, built by the platform in its sandbox,
/// detected as what it is, and answering through the production URL: servers render per request and their framework's
/// fingerprinted files come from the edge; static builds are served as files.
/// </summary>
[Trait("needs", "pipeline")]
public sealed class ServerFrameworkTests : FrameworkDeployTest
{
    [Fact]
    public async Task Nuxt_3_deploys_its_nitro_server_from_dot_output_and_its_nuxt_files_come_from_the_edge()
    {
        var api = await StartApiAsync(Settings);
        var user = await LoggedInAsync(api, "nuxt@example.com");
        var app = Directory.CreateDirectory(Path.Combine(Work, "nuxt")).FullName;
        await MoreFrameworkApps.WriteNuxtAsync(app, Cancellation);

        var (host, log) = await DeployWithDeckAsync(api, user, app, "nuxt");

        var page = await RenderedPerRequestAsync(api, host, "<h1>nuxt v1</h1>");
        await AssertServedByTheEdgeAsync(api, host, AssetIn(page, @"/_nuxt/[^""']+\.js"), "/_nuxt/");
        using var hello = await ServerAppTests.SendAsync(api, host, HttpMethod.Get, "/api/hello");
        Assert.Equal("v1", JsonNode.Parse(await hello.Content.ReadAsStringAsync(Cancellation))!["label"]!.GetValue<string>());
        Assert.Contains("Detected nuxt (server)", log, StringComparison.Ordinal);
        Assert.Contains("Nuxt output: deploying .output", log, StringComparison.Ordinal);
        Assert.Contains("The edge serves /_nuxt/*", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SvelteKit_with_adapter_node_is_a_server_and_with_adapter_static_a_static_site()
    {
        var api = await StartApiAsync(Settings);
        var user = await LoggedInAsync(api, "kit@example.com");
        var server = Directory.CreateDirectory(Path.Combine(Work, "kit-node")).FullName;
        await MoreFrameworkApps.WriteSvelteKitAsync(server, "node", Cancellation);
        var (host, log) = await DeployWithDeckAsync(api, user, server, "kit");

        var page = await RenderedPerRequestAsync(api, host, "<h1>sveltekit v1</h1>");
        await AssertServedByTheEdgeAsync(api, host, AssetIn(page, @"[./]*_app/immutable/[^""']+\.js"), "/_app/immutable/");
        Assert.Contains("uses @sveltejs/adapter-node: a server (node build)", log, StringComparison.Ordinal);
        Assert.Contains("Keeping production dependencies only", log, StringComparison.Ordinal);

        var files = Directory.CreateDirectory(Path.Combine(Work, "kit-static")).FullName;
        await MoreFrameworkApps.WriteSvelteKitAsync(files, "static", Cancellation);
        var (staticHost, staticLog) = await DeployWithDeckAsync(api, user, files, "kitstatic");
        using var prerendered = await ServerAppTests.SendAsync(api, staticHost, HttpMethod.Get, "/");
        Assert.Equal((HttpStatusCode.OK, "no-cache"), (prerendered.StatusCode, prerendered.Headers.CacheControl?.ToString()));
        var html = await prerendered.Content.ReadAsStringAsync(Cancellation);
        Assert.Contains("<h1>sveltekit static v1</h1>", html, StringComparison.Ordinal);
        Assert.Contains("Detected sveltekit (static site)", staticLog, StringComparison.Ordinal);
        await AssertServedByTheEdgeAsync(api, staticHost, AssetIn(html, @"[./]*_app/immutable/[^""']+\.js"), "/_app/immutable/");
    }

    [Fact]
    public async Task Astro_with_the_node_adapter_renders_on_demand_and_without_it_is_a_static_site()
    {
        var api = await StartApiAsync(Settings);
        var user = await LoggedInAsync(api, "astro@example.com");
        var server = Directory.CreateDirectory(Path.Combine(Work, "astro-node")).FullName;
        await MoreFrameworkApps.WriteAstroAsync(server, server: true, Cancellation);
        var (host, log) = await DeployWithDeckAsync(api, user, server, "astro");

        var page = await RenderedPerRequestAsync(api, host, "<h1 data-astro-cid");
        Assert.Contains("astro server v1</h1>", page, StringComparison.Ordinal);
        await AssertServedByTheEdgeAsync(api, host, AssetIn(page, @"/_astro/[^""']+\.css"), "/_astro/");
        Assert.Contains("uses the @astrojs/node adapter: a server", log, StringComparison.Ordinal);

        var files = Directory.CreateDirectory(Path.Combine(Work, "astro-static")).FullName;
        await MoreFrameworkApps.WriteAstroAsync(files, server: false, Cancellation);
        var (staticHost, staticLog) = await DeployWithDeckAsync(api, user, files, "astrostatic");
        using var built = await ServerAppTests.SendAsync(api, staticHost, HttpMethod.Get, "/");
        var html = await built.Content.ReadAsStringAsync(Cancellation);
        Assert.Contains("astro static v1</h1>", html, StringComparison.Ordinal);
        Assert.Contains("Detected astro (static site)", staticLog, StringComparison.Ordinal);
        await AssertServedByTheEdgeAsync(api, staticHost, AssetIn(html, @"/_astro/[^""']+\.css"), "/_astro/");
    }

    [Fact]
    public async Task React_Router_starts_through_node_modules_bin_and_an_express_app_runs_pruned_with_node_env_production()
    {
        var api = await StartApiAsync(Settings);
        var user = await LoggedInAsync(api, "node@example.com");
        var router = Directory.CreateDirectory(Path.Combine(Work, "react-router")).FullName;
        await MoreFrameworkApps.WriteReactRouterAsync(router, Cancellation);
        var (host, log) = await DeployWithDeckAsync(api, user, router, "router");

        // `npm start` is react-router-serve, a symbolic link in node_modules/.bin: it is deployed as one and runs.
        var page = await RenderedPerRequestAsync(api, host, "<h1>react-router v1</h1>");
        await AssertServedByTheEdgeAsync(api, host, AssetIn(page, @"/assets/[^""']+\.js"), "/assets/");
        Assert.Contains("Detected react-router (server)", log, StringComparison.Ordinal);
        Assert.Matches(@"Kept \d+ symbolic link\(s\)", log);

        var express = Directory.CreateDirectory(Path.Combine(Work, "express")).FullName;
        await MoreFrameworkApps.WriteExpressAsync(express, Cancellation);
        var (expressHost, expressLog) = await DeployWithDeckAsync(api, user, express, "express");
        await RenderedPerRequestAsync(api, expressHost, "<h1>express v1</h1>");
        using var environment = await ServerAppTests.SendAsync(api, expressHost, HttpMethod.Get, "/env");
        Assert.Equal("production", JsonNode.Parse(await environment.Content.ReadAsStringAsync(Cancellation))!["env"]!.GetValue<string>());
        Assert.Contains("Detected node (server): package.json has a start script and no framework CloudDeck builds otherwise (depends on express)", expressLog, StringComparison.Ordinal);
    }
}
