using System.Security.Cryptography;
using System.Text;
using CloudDeck.Cli.Deploy;

namespace CloudDeck.Cli.Tests.Unit;

/// <summary>Which files a deploy sends, under which paths, and their hashes.</summary>
public sealed class FileScannerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("deck-scan-").FullName;

    [Fact]
    public void Lists_files_with_slash_paths_in_ordinal_order_skipping_vcs_dependencies_and_the_link_at_any_depth()
    {
        Write("index.html", "<h1>hi</h1>");
        Write("assets/app.js", "x");
        Write("assets/B.css", "y");
        Write(".git/HEAD", "ref");
        Write("node_modules/left-pad/index.js", "pad");
        Write("packages/web/node_modules/x.js", "dep");
        Write(".clouddeck/project.json", "{}");
        Write("sub/.git/config", "c");
        Write(".DS_Store", "mac");
        Write(".env.local", "SECRET=1");
        Write(".env.production.local", "SECRET=2");
        Write(".env", "PUBLIC=1");
        Write(".well-known/security.txt", "contact");

        var paths = FileScanner.List(_root).Select(f => f.Path).ToArray();

        Assert.Equal([".env", ".well-known/security.txt", "assets/B.css", "assets/app.js", "index.html"], paths);
    }

    [Fact]
    public async Task Hashes_are_lower_case_SHA_256_of_the_content_with_the_hashed_size()
    {
        Write("a.txt", "hello");
        var file = Assert.Single(FileScanner.List(_root));

        var hashed = await FileScanner.HashAsync(file, TestContext.Current.CancellationToken);

        Assert.Equal("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", hashed.Sha256);
        Assert.Equal(5, hashed.Size);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("hello"))), hashed.Sha256);
    }

    [Fact]
    public void A_directory_symlink_is_not_followed_so_a_loop_cannot_hang_the_walk()
    {
        Write("real/file.txt", "r");
        Directory.CreateSymbolicLink(Path.Combine(_root, "real", "loop"), _root);

        var paths = FileScanner.List(_root).Select(f => f.Path).ToArray();

        Assert.Equal(["real/file.txt"], paths);
    }

    [Fact]
    public void File_links_that_leave_the_folder_are_refused_naming_each_while_links_inside_it_deploy_their_content()
    {
        var outside = Directory.CreateTempSubdirectory("deck-outside-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "auth.json"), "{\"token\":\"secret\"}");
            Write("index.html", "<h1>hi</h1>");
            Write("docs/page.html", "page");
            File.CreateSymbolicLink(Path.Combine(_root, "passwd.txt"), "/etc/passwd");
            File.CreateSymbolicLink(Path.Combine(_root, "docs", "token.json"), Path.Combine(outside, "auth.json"));
            // Through a linked folder (never walked itself) and a relative chain: judged by where it really ends.
            Directory.CreateSymbolicLink(Path.Combine(_root, "elsewhere"), outside);
            File.CreateSymbolicLink(Path.Combine(_root, "via-folder.json"), "elsewhere/auth.json");
            File.CreateSymbolicLink(Path.Combine(_root, "home.html"), "index.html");
            File.CreateSymbolicLink(Path.Combine(_root, "docs", "up.html"), "../home.html");

            var error = Assert.Throws<InvalidOperationException>(() => FileScanner.List(_root));
            Assert.Contains("passwd.txt -> /etc/passwd", error.Message, StringComparison.Ordinal);
            Assert.Contains("docs/token.json", error.Message, StringComparison.Ordinal);
            Assert.Contains("via-folder.json", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("home.html", error.Message, StringComparison.Ordinal);

            File.Delete(Path.Combine(_root, "passwd.txt"));
            File.Delete(Path.Combine(_root, "docs", "token.json"));
            File.Delete(Path.Combine(_root, "via-folder.json"));
            var files = FileScanner.List(_root);
            Assert.Equal(["docs/page.html", "docs/up.html", "home.html", "index.html"], files.Select(f => f.Path));
            Assert.Equal(11, files.Single(f => f.Path == "docs/up.html").Size);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void A_file_name_with_a_backslash_is_refused_before_hashing_naming_the_file()
    {
        Write("ok.txt", "fine");
        Write("bad\\name.txt", "nope");

        var error = Assert.Throws<InvalidOperationException>(() => FileScanner.List(_root));

        Assert.Contains("bad\\name.txt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_folder_is_a_clear_error()
    {
        var error = Assert.Throws<DirectoryNotFoundException>(() => FileScanner.List(Path.Combine(_root, "nope")));
        Assert.Contains("nope", error.Message, StringComparison.Ordinal);
    }

    private void Write(string relative, string content)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
