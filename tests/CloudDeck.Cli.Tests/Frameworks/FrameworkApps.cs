using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests.Frameworks;

/// <summary>
/// Minimal apps of each framework as their starters write them, with dependencies pinned to versions that run on this
/// machine's Node 20, installed from the npm registry with the test process's npm and its one shared cache (so the
/// lockfile is real, and a second app of the same dependencies costs no download).
/// </summary>
internal static class FrameworkApps
{
    /// <summary>Next.js 14, the major the issue names, and 16, the current one (it needs Node 20.9 or later).</summary>
    public const string Next14 = "\"next\": \"14.2.35\", \"react\": \"18.3.1\", \"react-dom\": \"18.3.1\"";

    public const string Next16 = "\"next\": \"16.5.0\", \"react\": \"19.2.0\", \"react-dom\": \"19.2.0\"";

    /// <summary>
    /// A Next.js app router project: a page rendered per request, a JSON route handler, a plain-text route naming the
    /// version (what the load loop counts), a public file; <paramref name="staticExport"/> makes it
    /// <c>output: 'export'</c> with a prerendered page instead.
    /// </summary>
    public static async Task WriteNextAsync(string directory, string dependencies, string label, bool staticExport, CancellationToken cancellation)
    {
        await WriteAsync(directory, "package.json", $$"""
            { "name": "next-app", "version": "1.0.0", "private": true,
              "scripts": { "dev": "next dev", "build": "next build", "start": "next start" },
              "dependencies": { {{dependencies}} } }
            """, cancellation);
        await WriteAsync(directory, "app/layout.js", """
            export const metadata = { title: 'CloudDeck on Next.js' };
            export default function RootLayout({ children }) {
              return <html lang="en"><body>{children}</body></html>;
            }
            """, cancellation);
        await WriteAsync(directory, "app/clock.js", """
            'use client';
            import { useState } from 'react';
            export default function Clock() {
              const [clicks, setClicks] = useState(0);
              return <button onClick={() => setClicks(clicks + 1)}>clicked {clicks}</button>;
            }
            """, cancellation);
        await WriteAsync(directory, "public/robots.txt", "User-agent: *\n", cancellation);
        if (staticExport)
        {
            await WriteAsync(directory, "next.config.mjs", "const nextConfig = { output: 'export' };\nexport default nextConfig;\n", cancellation);
            await WriteAsync(directory, "app/page.js", $$"""
                import Clock from './clock';
                export default function Page() {
                  return <main><h1>exported {{label}}</h1><Clock /></main>;
                }
                """, cancellation);
            return;
        }

        await WriteAsync(directory, "next.config.mjs", "const nextConfig = { reactStrictMode: true };\nexport default nextConfig;\n", cancellation);
        await WriteAsync(directory, "app/page.js", $$"""
            import Clock from './clock';
            export const dynamic = 'force-dynamic';
            export default function Page() {
              return <main><h1>rendered {{label}}</h1><p id="at">at {Date.now()}-{Math.random()}</p><Clock /></main>;
            }
            """, cancellation);
        await WriteAsync(directory, "app/api/hello/route.js", $$"""
            export const dynamic = 'force-dynamic';
            export function GET(request) {
              return Response.json({ hello: '{{label}}', node: process.version, env: process.env.NODE_ENV, at: Date.now() });
            }
            """, cancellation);
        await WriteAsync(directory, "app/label/route.js", $$"""
            export const dynamic = 'force-dynamic';
            export function GET() {
              return new Response(`hello from {{label}} on ${process.env.PORT}`, { headers: { 'content-type': 'text/plain' } });
            }
            """, cancellation);
    }

    /// <summary>Rewrites the label the app renders (a new version of the same app).</summary>
    public static async Task RelabelNextAsync(string directory, string from, string to, CancellationToken cancellation)
    {
        foreach (var file in new[] { "app/page.js", "app/api/hello/route.js", "app/label/route.js" })
        {
            var path = Path.Combine(directory, file);
            if (File.Exists(path)) await File.WriteAllTextAsync(path, (await File.ReadAllTextAsync(path, cancellation)).Replace(from, to, StringComparison.Ordinal), cancellation);
        }
    }

    /// <summary>`npm install` as a developer runs it (a full install: a lockfile-only one leaves platform packages out).</summary>
    public static async Task InstallAsync(string directory, CancellationToken cancellation)
    {
        await using var npm = ChildProcess.Start("npm", ["install", "--no-audit", "--no-fund", "--cache", NodeHarness.NpmCache],
            new Dictionary<string, string?> { ["NO_UPDATE_NOTIFIER"] = "1" }, directory);
        Assert.True(await npm.WaitForExitAsync(TimeSpan.FromMinutes(5), cancellation), $"npm install did not finish:\n{npm.Output}");
        Assert.True(npm.ExitCode == 0, $"npm install exited {npm.ExitCode}:\n{npm.Output}");
    }

    /// <summary>
    /// What a deployment of this folder stored before server artifacts were pruned: its whole root with node_modules,
    /// regular files only (links were skipped). A lower bound: it leaves out what the build adds (.next).
    /// </summary>
    public static long WholeRootBytes(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(f => f.LinkTarget is null && !f.FullName.Contains("/.git/", StringComparison.Ordinal))
            .Sum(f => f.Length);

    private static async Task WriteAsync(string directory, string relative, string text, CancellationToken cancellation)
    {
        var path = Path.Combine(directory, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, text, cancellation);
    }
}
