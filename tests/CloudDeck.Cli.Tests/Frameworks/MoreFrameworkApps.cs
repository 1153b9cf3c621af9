namespace CloudDeck.Cli.Tests.Frameworks;

/// <summary>
/// Minimal Nuxt 3, SvelteKit 2, Astro 5, React Router 7 and Express 4 apps as their starters lay them out, pinned to
/// versions that run on Node 20. Each server app renders a page that changes per request ("at &lt;time&gt;-&lt;random&gt;")
/// and has fingerprinted files under its framework's immutable prefix.
/// </summary>
internal static class MoreFrameworkApps
{
    public static Task WriteNuxtAsync(string directory, CancellationToken cancellation) => WriteAsync(directory, cancellation,
        ("package.json", """
            { "name": "nuxt-app", "private": true, "type": "module",
              "scripts": { "build": "nuxt build", "dev": "nuxt dev", "generate": "nuxt generate", "preview": "nuxt preview" },
              "dependencies": { "nuxt": "3.21.11" } }
            """),
        ("nuxt.config.ts", "export default defineNuxtConfig({ telemetry: false, devtools: { enabled: false } });\n"),
        ("app.vue", """
            <script setup>
            const { data } = await useFetch('/api/hello');
            </script>
            <template><main><h1>nuxt {{ data.label }}</h1><p id="at">at {{ data.at }}</p></main></template>
            """),
        ("server/api/hello.js", "export default defineEventHandler(() => ({ label: 'v1', at: Date.now() + '-' + Math.random() }));\n"));

    /// <param name="adapter">"node" (a server) or "static" (prerendered files).</param>
    public static Task WriteSvelteKitAsync(string directory, string adapter, CancellationToken cancellation)
    {
        var version = adapter == "node" ? "5.5.7" : "3.0.11";
        List<(string, string)> files =
        [
            ("package.json", $$"""
                { "name": "kit-app", "private": true, "type": "module",
                  "scripts": { "build": "vite build", "dev": "vite dev", "preview": "vite preview" },
                  "devDependencies": { "@sveltejs/kit": "2.70.4", "@sveltejs/adapter-{{adapter}}": "{{version}}", "@sveltejs/vite-plugin-svelte": "5.1.1",
                    "svelte": "5.60.1", "vite": "6.4.6" } }
                """),
            ("svelte.config.js", $"import adapter from '@sveltejs/adapter-{adapter}';\nexport default {{ kit: {{ adapter: adapter() }} }};\n"),
            ("vite.config.js", "import { sveltekit } from '@sveltejs/kit/vite';\nimport { defineConfig } from 'vite';\nexport default defineConfig({ plugins: [sveltekit()] });\n"),
            ("src/app.html", "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\" />%sveltekit.head%</head><body><div>%sveltekit.body%</div></body></html>\n"),
        ];
        if (adapter == "node")
        {
            files.Add(("src/routes/+page.server.js", "export function load() { return { at: Date.now() + '-' + Math.random() }; }\n"));
            files.Add(("src/routes/+page.svelte", "<script>let { data } = $props(); let clicks = $state(0);</script>\n" +
                "<h1>sveltekit v1</h1><p id=\"at\">at {data.at}</p><button onclick={() => clicks++}>clicked {clicks}</button>\n"));
        }
        else
        {
            files.Add(("src/routes/+layout.js", "export const prerender = true;\n"));
            files.Add(("src/routes/+page.svelte", "<script>let clicks = $state(0);</script>\n<h1>sveltekit static v1</h1><button onclick={() => clicks++}>clicked {clicks}</button>\n"));
        }

        return WriteAsync(directory, cancellation, [.. files]);
    }

    /// <param name="server">With @astrojs/node (standalone) and a page rendered on demand; else Astro's static default.</param>
    public static Task WriteAstroAsync(string directory, bool server, CancellationToken cancellation) => WriteAsync(directory, cancellation,
        ("package.json", $$"""
            { "name": "astro-app", "private": true, "type": "module",
              "scripts": { "build": "astro build", "dev": "astro dev" },
              "dependencies": { "astro": "5.18.2"{{(server ? ", \"@astrojs/node\": \"9.5.5\"" : "")}} } }
            """),
        ("astro.config.mjs", server
            ? "import { defineConfig } from 'astro/config';\nimport node from '@astrojs/node';\n" +
              "export default defineConfig({ output: 'server', adapter: node({ mode: 'standalone' }), build: { inlineStylesheets: 'never' } });\n"
            : "import { defineConfig } from 'astro/config';\nexport default defineConfig({ build: { inlineStylesheets: 'never' } });\n"),
        ("src/pages/index.astro", $$"""
            ---
            {{(server ? "export const prerender = false;" : "")}}
            const at = Date.now() + '-' + Math.random();
            ---
            <html><body><h1>astro {{(server ? "server" : "static")}} v1</h1><p id="at">at {at}</p><style>h1 { color: teal; }</style></body></html>
            """));

    /// <summary>React Router 7 in framework mode: its start script runs react-router-serve through node_modules/.bin.</summary>
    public static Task WriteReactRouterAsync(string directory, CancellationToken cancellation) => WriteAsync(directory, cancellation,
        ("package.json", """
            { "name": "rr-app", "private": true, "type": "module",
              "scripts": { "build": "react-router build", "dev": "react-router dev", "start": "react-router-serve ./build/server/index.js" },
              "dependencies": { "@react-router/node": "7.18.4", "@react-router/serve": "7.18.4", "isbot": "5.1.31", "react": "19.2.0", "react-dom": "19.2.0",
                "react-router": "7.18.4" },
              "devDependencies": { "@react-router/dev": "7.18.4", "vite": "6.4.6" } }
            """),
        ("react-router.config.js", "export default { ssr: true };\n"),
        ("vite.config.js", "import { reactRouter } from '@react-router/dev/vite';\nimport { defineConfig } from 'vite';\nexport default defineConfig({ plugins: [reactRouter()] });\n"),
        ("app/root.jsx", """
            import { Links, Meta, Outlet, Scripts } from 'react-router';
            export default function App() {
              return <html lang="en"><head><Meta /><Links /></head><body><Outlet /><Scripts /></body></html>;
            }
            """),
        ("app/routes.js", "import { index } from '@react-router/dev/routes';\nexport default [index('routes/home.jsx')];\n"),
        ("app/routes/home.jsx", """
            import { useLoaderData } from 'react-router';
            export function loader() { return { at: Date.now() + '-' + Math.random() }; }
            export default function Home() { const { at } = useLoaderData(); return <main><h1>react-router v1</h1><p id="at">at {at}</p></main>; }
            """));

    public static Task WriteExpressAsync(string directory, CancellationToken cancellation) => WriteAsync(directory, cancellation,
        ("package.json", """
            { "name": "express-app", "private": true, "scripts": { "start": "node index.js" }, "dependencies": { "express": "4.22.3" } }
            """),
        ("index.js", """
            const express = require('express');
            const app = express();
            app.get('/', (req, res) => res.send(`<h1>express v1</h1><p id="at">at ${Date.now()}-${Math.random()}</p>`));
            app.get('/env', (req, res) => res.json({ env: process.env.NODE_ENV }));
            app.listen(process.env.PORT, () => console.log('listening on ' + process.env.PORT));
            """));

    private static async Task WriteAsync(string directory, CancellationToken cancellation, params (string Path, string Text)[] files)
    {
        foreach (var (relative, text) in files)
        {
            var path = Path.Combine(directory, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, text, cancellation);
        }
    }
}
