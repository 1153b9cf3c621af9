using System.Diagnostics;
using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;

namespace CloudDeck.Testing;

/// <summary>
/// A root file system written as a tar stream from files of this machine: programs with the shared libraries
/// <c>ldd</c> names, whole trees (symbolic links kept as links), generated text files. Every entry is owned by root;
/// parents are added before children; a file whose bytes were already written is written as a hard link to it
/// (git's helpers are mostly one binary under many names).
/// </summary>
internal sealed class RootFileSystem(TarWriter tar)
{
    private static readonly DateTimeOffset Time = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly HashSet<string> _added = new(StringComparer.Ordinal);
    private readonly Dictionary<(long Length, string Hash), string> _contents = [];

    public void AddDirectory(string path, UnixFileMode? mode = null)
    {
        var name = Name(path);
        if (name.Length == 0 || !_added.Add(name)) return;
        AddParents(path);
        tar.WriteEntry(Entry(TarEntryType.Directory, name + "/", mode ?? (UnixFileMode)0x1ED));
    }

    public void AddLink(string path, string target)
    {
        var name = Name(path);
        if (!_added.Add(name)) return;
        AddParents(path);
        var entry = Entry(TarEntryType.SymbolicLink, name, (UnixFileMode)0x1FF);
        entry.LinkName = target;
        tar.WriteEntry(entry);
    }

    public void AddText(string path, string text)
    {
        var name = Name(path);
        if (!_added.Add(name)) return;
        AddParents(path);
        var entry = Entry(TarEntryType.RegularFile, name, (UnixFileMode)0x1A4);
        entry.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        tar.WriteEntry(entry);
    }

    /// <summary>The bytes of <paramref name="source"/> (links followed) at <paramref name="path"/>, with its mode.</summary>
    public async Task AddFileAsync(string source, string path)
    {
        var name = Name(path);
        if (!_added.Add(name)) return;
        AddParents(path);
        var mode = OperatingSystem.IsWindows() ? (UnixFileMode)0x1A4 : File.GetUnixFileMode(source);
        byte[] hash;
        await using (var read = File.OpenRead(source)) hash = await SHA256.HashDataAsync(read).ConfigureAwait(false);
        var key = (new FileInfo(source).Length, Convert.ToHexStringLower(hash));
        if (_contents.TryGetValue(key, out var first))
        {
            var link = Entry(TarEntryType.HardLink, name, mode);
            link.LinkName = first;
            await tar.WriteEntryAsync(link).ConfigureAwait(false);
            return;
        }

        _contents[key] = name;
        var entry = Entry(TarEntryType.RegularFile, name, mode);
        await using var data = File.OpenRead(source);
        entry.DataStream = data;
        await tar.WriteEntryAsync(entry).ConfigureAwait(false);
    }

    /// <summary>A program and every library it loads, each at the path ldd names.</summary>
    public async Task AddProgramAsync(string source, string path)
    {
        await AddFileAsync(source, path).ConfigureAwait(false);
        await AddLibrariesAsync(source).ConfigureAwait(false);
    }

    /// <summary>A directory tree; with <paramref name="withLibraries"/> the libraries of every program in it too.</summary>
    public async Task AddTreeAsync(string source, string path, bool withLibraries = false)
    {
        AddDirectory(path);
        foreach (var entry in new DirectoryInfo(source).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            var target = path.TrimEnd('/') + "/" + entry.Name;
            if (entry.LinkTarget is { } link) AddLink(target, link);
            else if (entry is DirectoryInfo) await AddTreeAsync(entry.FullName, target, withLibraries).ConfigureAwait(false);
            else
            {
                await AddFileAsync(entry.FullName, target).ConfigureAwait(false);
                if (withLibraries && IsElf(entry.FullName)) await AddLibrariesAsync(entry.FullName).ConfigureAwait(false);
            }
        }
    }

    /// <summary>busybox at /bin/busybox and each of its applets as a link to it where it belongs (/bin/sh, /usr/bin/env, /sbin/ip…).</summary>
    public async Task AddBusyboxAsync(string busybox)
    {
        await AddFileAsync(busybox, "/bin/busybox").ConfigureAwait(false);
        foreach (var applet in Run(busybox, "--list-full").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (applet != "bin/busybox") AddLink("/" + applet, "/bin/busybox");
        }
    }

    private async Task AddLibrariesAsync(string program)
    {
        foreach (var line in Run("ldd", program).Split('\n', StringSplitOptions.TrimEntries))
        {
            var arrow = line.IndexOf("=>", StringComparison.Ordinal);
            var path = arrow >= 0 ? line[(arrow + 2)..].Trim() : line;
            var end = path.IndexOf(" (", StringComparison.Ordinal);
            if (end >= 0) path = path[..end];
            if (!path.StartsWith('/') || !File.Exists(path)) continue;
            await AddFileAsync(NodeImage.Resolve(path), path).ConfigureAwait(false);
        }
    }

    private void AddParents(string path)
    {
        var parent = Path.GetDirectoryName(path);
        if (parent is not null && parent != "/") AddDirectory(parent);
    }

    private static PaxTarEntry Entry(TarEntryType type, string name, UnixFileMode mode) =>
        new(type, name) { Mode = mode, Uid = 0, Gid = 0, ModificationTime = Time };

    private static string Name(string path) => path.TrimStart('/').TrimEnd('/');

    private static bool IsElf(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return file.Read(magic) == 4 && magic[0] == 0x7F && magic[1] == (byte)'E' && magic[2] == (byte)'L' && magic[3] == (byte)'F';
    }

    private static string Run(string program, string argument)
    {
        using var process = Process.Start(new ProcessStartInfo(program, [argument]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        var output = process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return output;
    }
}
