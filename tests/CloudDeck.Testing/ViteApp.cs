namespace CloudDeck.Testing;

/// <summary>
/// A Vite app as `npm create vite` writes it (vanilla template), for the tests and benches that build one with the real
/// npm registry. The version is pinned so a new Vite release cannot change what they measure or assert.
/// </summary>
public static class ViteApp
{
    public const string Version = "5.4.21";

    /// <summary>Writes the app's sources into <paramref name="directory"/> (no install), showing <paramref name="greeting"/>.</summary>
    public static async Task WriteAsync(string directory, string greeting, CancellationToken cancellationToken = default)
    {
        await File.WriteAllTextAsync(Path.Combine(directory, "package.json"), $$"""
            {
              "name": "vite-app",
              "private": true,
              "version": "0.0.0",
              "type": "module",
              "scripts": { "dev": "vite", "build": "vite build", "preview": "vite preview" },
              "devDependencies": { "vite": "{{Version}}" }
            }
            """, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "index.html"), """
            <!doctype html>
            <html lang="en">
              <head><meta charset="UTF-8" /><title>Vite App</title></head>
              <body><div id="app"></div><script type="module" src="/src/main.js"></script></body>
            </html>
            """, cancellationToken);
        Directory.CreateDirectory(Path.Combine(directory, "src"));
        await File.WriteAllTextAsync(Path.Combine(directory, "src", "style.css"), ".hello-from-vite { color: red; }\n", cancellationToken);
        await WriteGreetingAsync(directory, greeting, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, ".gitignore"), "node_modules\ndist\n", cancellationToken);
    }

    /// <summary>Changes what the app shows (src/main.js), so its build output changes.</summary>
    public static Task WriteGreetingAsync(string directory, string greeting, CancellationToken cancellationToken = default) =>
        File.WriteAllTextAsync(Path.Combine(directory, "src", "main.js"),
            $"import './style.css';\ndocument.querySelector('#app').textContent = '{greeting}';\n", cancellationToken);
}
