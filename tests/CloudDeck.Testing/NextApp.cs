namespace CloudDeck.Testing;

/// <summary>
/// A Next.js app router project as `create-next-app` lays it out (JavaScript, no extras), with React pinned to what each
/// Next.js major wants and both running on Node 20: for the acceptance tests and the bench that build it for real.
/// </summary>
public static class NextApp
{
    /// <summary>Next.js 14, the major the issue names, and 16, the current one (it needs Node 20.9 or later).</summary>
    public const string Next14 = "\"next\": \"14.2.35\", \"react\": \"18.3.1\", \"react-dom\": \"18.3.1\"";

    public const string Next16 = "\"next\": \"16.5.0\", \"react\": \"19.2.0\", \"react-dom\": \"19.2.0\"";

    /// <summary>
    /// A Next.js app router project: a page rendered per request, a JSON route handler, a plain-text route naming the
    /// version (what the load loop counts), a public file; <paramref name="staticExport"/> makes it
    /// <c>output: 'export'</c> with a prerendered page instead.
    /// </summary>
    public static async Task WriteAsync(string directory, string dependencies, string label, bool staticExport, CancellationToken cancellation = default)
    {
        await WriteFileAsync(directory, "package.json", $$"""
            { "name": "next-app", "version": "1.0.0", "private": true,
              "scripts": { "dev": "next dev", "build": "next build", "start": "next start" },
              "dependencies": { {{dependencies}} } }
            """, cancellation);
        await WriteFileAsync(directory, "app/layout.js", """
            export const metadata = { title: 'CloudDeck on Next.js' };
            export default function RootLayout({ children }) {
              return <html lang="en"><body>{children}</body></html>;
            }
            """, cancellation);
        await WriteFileAsync(directory, "app/clock.js", """
            'use client';
            import { useState } from 'react';
            export default function Clock() {
              const [clicks, setClicks] = useState(0);
              return <button onClick={() => setClicks(clicks + 1)}>clicked {clicks}</button>;
            }
            """, cancellation);
        await WriteFileAsync(directory, "public/robots.txt", "User-agent: *\n", cancellation);
        if (staticExport)
        {
            await WriteFileAsync(directory, "next.config.mjs", "const nextConfig = { output: 'export' };\nexport default nextConfig;\n", cancellation);
            await WriteFileAsync(directory, "app/page.js", $$"""
                import Clock from './clock';
                export default function Page() {
                  return <main><h1>exported {{label}}</h1><Clock /></main>;
                }
                """, cancellation);
            return;
        }

        await WriteFileAsync(directory, "next.config.mjs", "const nextConfig = { reactStrictMode: true };\nexport default nextConfig;\n", cancellation);
        await WriteFileAsync(directory, "app/page.js", $$"""
            import Clock from './clock';
            export const dynamic = 'force-dynamic';
            export default function Page() {
              return <main><h1>rendered {{label}}</h1><p id="at">at {Date.now()}-{Math.random()}</p><Clock /></main>;
            }
            """, cancellation);
        await WriteFileAsync(directory, "app/api/hello/route.js", $$"""
            export const dynamic = 'force-dynamic';
            export function GET(request) {
              return Response.json({ hello: '{{label}}', node: process.version, env: process.env.NODE_ENV, at: Date.now() });
            }
            """, cancellation);
        await WriteFileAsync(directory, "app/label/route.js", $$"""
            export const dynamic = 'force-dynamic';
            export function GET() {
              return new Response(`hello from {{label}} on ${process.env.PORT}`, { headers: { 'content-type': 'text/plain' } });
            }
            """, cancellation);
    }

    /// <summary>Rewrites the label the app renders (a new version of the same app).</summary>
    public static async Task RelabelAsync(string directory, string from, string to, CancellationToken cancellation = default)
    {
        foreach (var file in new[] { "app/page.js", "app/api/hello/route.js", "app/label/route.js" })
        {
            var path = Path.Combine(directory, file);
            if (File.Exists(path)) await File.WriteAllTextAsync(path, (await File.ReadAllTextAsync(path, cancellation)).Replace(from, to, StringComparison.Ordinal), cancellation);
        }
    }

    /// <summary>
    /// What a deployment of this folder stored before server artifacts were pruned: its whole root with node_modules,
    /// regular files only (links were skipped), .git left out.
    /// </summary>
    public static long WholeRootBytes(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(f => f.LinkTarget is null && !f.FullName.Contains("/.git/", StringComparison.Ordinal))
            .Sum(f => f.Length);

    private static async Task WriteFileAsync(string directory, string relative, string text, CancellationToken cancellation = default)
    {
        var path = Path.Combine(directory, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, text, cancellation);
    }
}
