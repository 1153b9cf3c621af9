using CloudDeck.Cli.Config;

namespace CloudDeck.Cli.Tests.Unit;

/// <summary>auth.json and .clouddeck/project.json.</summary>
public sealed class ConfigTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("deck-config-").FullName;

    [Fact]
    public void Credentials_are_kept_per_API_in_an_owner_only_file()
    {
        var store = new AuthStore(Path.Combine(_root, "config"));
        var one = new Uri("http://127.0.0.1:5000/");
        var two = new Uri("https://deck.example.com/api-prefix/");

        store.Set(one, new StoredCredentials { Email = "ada@example.com", AccessToken = "access-1", RefreshToken = "refresh-1" });
        store.Set(two, new StoredCredentials { Email = "bob@example.com", Token = "cdk_token" });

        Assert.Equal("access-1", store.Get(new Uri("http://127.0.0.1:5000"))!.Bearer);
        Assert.Equal("cdk_token", store.Get(two)!.Bearer);
        Assert.Null(store.Get(new Uri("http://127.0.0.1:5001/")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.Path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(store.Path)!));
        }

        Assert.True(store.Remove(one));
        Assert.False(store.Remove(one));
        Assert.Null(store.Get(one));
        Assert.NotNull(store.Get(two));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(store.Path)!, "*.tmp"));
    }

    [Fact]
    public void A_corrupt_auth_file_is_named_without_echoing_its_content()
    {
        var store = new AuthStore(_root);
        File.WriteAllText(store.Path, "{ \"servers\": secret-token-here");

        var error = Assert.Throws<InvalidOperationException>(() => store.Get(new Uri("http://localhost:8080/")));

        Assert.Contains(store.Path, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token-here", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_link_is_found_from_the_directory_and_its_subfolders_and_keeps_itself_out_of_git()
    {
        new ProjectLink("acme", "web").Write(_root);
        var nested = Directory.CreateDirectory(Path.Combine(_root, "src", "deep")).FullName;

        var (link, root) = ProjectLink.Find(nested)!.Value;

        Assert.Equal(new ProjectLink("acme", "web"), link);
        Assert.Equal(_root, root);
        Assert.Contains("\"org\": \"acme\"", File.ReadAllText(ProjectLink.PathIn(_root)), StringComparison.Ordinal);
        Assert.Equal("*\n", File.ReadAllText(Path.Combine(_root, ".clouddeck", ".gitignore")));
    }

    [Fact]
    public void An_unlinked_directory_has_no_link_and_a_link_without_a_project_is_an_error()
    {
        var unlinked = Directory.CreateTempSubdirectory("deck-unlinked-").FullName;
        try
        {
            Assert.Null(ProjectLink.Find(unlinked));
            Directory.CreateDirectory(Path.Combine(unlinked, ".clouddeck"));
            File.WriteAllText(ProjectLink.PathIn(unlinked), """{"org":"acme"}""");
            Assert.Contains("project", Assert.Throws<InvalidOperationException>(() => ProjectLink.Find(unlinked)).Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(unlinked, recursive: true);
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
