using System.Collections.Concurrent;
using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CloudDeck.Testing;

/// <summary>
/// A node image for the Docker tests, since no image can be pulled on these machines: <c>docker import</c> (the Engine
/// API's image create from a tarball) of a root file system assembled from this machine's own files: busybox-static (sh
/// and the usual tools), the node binary and the libraries <c>ldd</c> names, npm's tree, git with its helpers and their
/// libraries, the CA bundle, and a passwd naming the containers' default uid. Cached by a tag made from what went in, so
/// a second run (or test) on the same dockerd imports nothing.
/// </summary>
public static class NodeImage
{
    public const string Repository = "clouddeck-test/node";
    private const string Busybox = "/bin/busybox";
    private static readonly ConcurrentDictionary<string, Lazy<Task<string>>> Built = new(StringComparer.Ordinal);

    /// <summary>Why the image cannot be made here (no node, no busybox-static); null when it can.</summary>
    public static string? MissingReason =>
        NodeHarness.Node is null ? Requirement.Missing("node", "apt-get install nodejs")
        : !File.Exists(Busybox) ? Requirement.Missing("busybox-static (/bin/busybox)", "apt-get install busybox-static")
        : null;

    /// <summary>The image's tag on <paramref name="daemon"/>, imported the first time.</summary>
    public static Task<string> EnsureAsync(DockerDaemon daemon) =>
        Built.GetOrAdd(daemon.Endpoint, _ => new Lazy<Task<string>>(() => ImportAsync(daemon))).Value;

    private static async Task<string> ImportAsync(DockerDaemon daemon)
    {
        var node = Resolve(NodeHarness.Node ?? throw new InvalidOperationException(MissingReason));
        var npm = NpmDirectory(node);
        var git = PostgresTools.FindOnPath("git") is { } g ? Resolve(g) : null;
        var gitCore = Directory.Exists("/usr/lib/git-core") ? "/usr/lib/git-core" : null;
        var tag = Tag(node, npm, git);
        var image = $"{Repository}:{tag}";
        using var client = daemon.CreateClient();
        try
        {
            await client.Images.InspectImageAsync(image).ConfigureAwait(false);
            return image;
        }
        catch (DockerImageNotFoundException)
        {
        }

        var tarball = Path.Combine(Path.GetTempPath(), $"clouddeck-node-rootfs-{Guid.NewGuid():N}.tar");
        try
        {
            await using (var file = File.Create(tarball))
            await using (var tar = new TarWriter(file, TarEntryFormat.Pax, leaveOpen: false))
            {
                var root = new RootFileSystem(tar);
                await root.AddBusyboxAsync(Busybox).ConfigureAwait(false);
                await root.AddProgramAsync(node, "/usr/bin/node").ConfigureAwait(false);
                if (npm is not null)
                {
                    await root.AddTreeAsync(npm, "/usr/lib/node_modules/npm").ConfigureAwait(false);
                    root.AddLink("/usr/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js");
                    root.AddLink("/usr/bin/npx", "../lib/node_modules/npm/bin/npx-cli.js");
                }

                if (git is not null) await root.AddProgramAsync(git, "/usr/bin/git").ConfigureAwait(false);
                if (gitCore is not null) await root.AddTreeAsync(gitCore, gitCore, withLibraries: true).ConfigureAwait(false);
                if (Directory.Exists("/usr/share/git-core/templates")) await root.AddTreeAsync("/usr/share/git-core/templates", "/usr/share/git-core/templates").ConfigureAwait(false);
                if (File.Exists("/etc/ssl/certs/ca-certificates.crt")) await root.AddFileAsync("/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt").ConfigureAwait(false);
                root.AddText("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
                root.AddText("/etc/group", "root:x:0:\napp:x:10001:\nnogroup:x:65534:\n");
                root.AddText("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n");
                foreach (var directory in new[] { "/tmp", "/home/app", "/build", "/app", "/root" }) root.AddDirectory(directory, directory == "/tmp" ? UnixFileMode.StickyBit | (UnixFileMode)0x1FF : null);
            }

            await using var stream = File.OpenRead(tarball);
            await client.Images.CreateImageAsync(new ImagesCreateParameters { FromSrc = "-", Repo = Repository, Tag = tag }, stream, null, null,
                new Progress<JSONMessage>()).ConfigureAwait(false);
            await client.Images.InspectImageAsync(image).ConfigureAwait(false);
            return image;
        }
        finally
        {
            File.Delete(tarball);
        }
    }

    /// <summary>Changes when any input does: the programs' paths, sizes and times.</summary>
    private static string Tag(string node, string? npm, string? git)
    {
        var inputs = new StringBuilder("v4\n");
        foreach (var path in new[] { node, Busybox, git, npm is null ? null : Path.Combine(npm, "package.json") }.OfType<string>())
        {
            var info = new FileInfo(path);
            inputs.Append(path).Append(' ').Append(info.Length).Append(' ').Append(info.LastWriteTimeUtc.Ticks).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(inputs.ToString())))[..16];
    }

    /// <summary>npm's package directory: where the npm on PATH points, or beside node.</summary>
    private static string? NpmDirectory(string node)
    {
        if (NodeHarness.Npm is { } npm)
        {
            var cli = Resolve(npm);
            var directory = Path.GetDirectoryName(Path.GetDirectoryName(cli));
            if (directory is not null && File.Exists(Path.Combine(directory, "package.json"))) return directory;
        }

        var beside = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(node))!, "lib", "node_modules", "npm");
        return Directory.Exists(beside) ? beside : null;
    }

    internal static string Resolve(string path) => new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(path);
}
