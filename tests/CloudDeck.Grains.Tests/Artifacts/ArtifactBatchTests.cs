using System.Security.Cryptography;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Builds.Executor;

namespace CloudDeck.Grains.Tests.Artifacts;

/// <summary>
/// Batched puts keep the single put's promises (checked, nothing visible before the commit, a refused batch leaves no
/// trace); content already stored is checked but not written again; an untouched upload is its own output.
/// </summary>
public sealed class ArtifactBatchTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("clouddeck-artifacts-").FullName;

    private static (byte[] Bytes, string Sha256) Content(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        return (bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>Every file under the root but orgs/ (grants, and the store's marker of when storage was first counted).</summary>
    private string[] StoredFiles() => Directory.GetFiles(_root, "*", SearchOption.AllDirectories)
        .Where(f => !f.StartsWith(Path.Combine(_root, "orgs") + Path.DirectorySeparatorChar, StringComparison.Ordinal)).ToArray();

    [Fact]
    public async Task A_batch_stores_every_file_only_when_committed()
    {
        var store = new LocalArtifactStore(_root);
        var ct = TestContext.Current.CancellationToken;
        var (one, oneSha) = Content("one.js");
        var (two, twoSha) = Content("two.css");

        await using (var batch = store.BeginBatch())
        {
            await batch.AddAsync(oneSha, one.Length, new MemoryStream(one), ct);
            await batch.AddAsync(twoSha, two.Length, new MemoryStream(two), ct);
            await batch.AddAsync(oneSha, one.Length, new MemoryStream(one), ct);
            Assert.False(store.Contains(oneSha));
            await batch.CommitAsync(ct);
        }

        Assert.Equal(one, await File.ReadAllBytesAsync(store.PathOf(oneSha), ct));
        Assert.Equal(two, await File.ReadAllBytesAsync(store.PathOf(twoSha), ct));
        Assert.Equal([store.PathOf(oneSha), store.PathOf(twoSha)], StoredFiles().Order());
    }

    [Fact]
    public async Task A_refused_file_leaves_nothing_of_its_batch()
    {
        var store = new LocalArtifactStore(_root);
        var ct = TestContext.Current.CancellationToken;
        var (good, goodSha) = Content("good.js");
        var (bad, _) = Content("bad.js");
        var (_, otherSha) = Content("other");

        await using (var batch = store.BeginBatch())
        {
            await batch.AddAsync(goodSha, good.Length, new MemoryStream(good), ct);
            var refused = await Assert.ThrowsAsync<InvalidFieldException>(() => batch.AddAsync(otherSha, bad.Length, new MemoryStream(bad), ct));
            Assert.Equal("sha256", refused.Field);
            var short_ = await Assert.ThrowsAsync<InvalidFieldException>(() => batch.AddAsync(goodSha, good.Length + 1, new MemoryStream(good), ct));
            Assert.Equal("size", short_.Field);
        }

        Assert.False(store.Contains(goodSha));
        Assert.Empty(StoredFiles());
    }

    [Fact]
    public async Task Content_already_stored_is_checked_again_but_not_rewritten()
    {
        var store = new LocalArtifactStore(_root);
        var ct = TestContext.Current.CancellationToken;
        var (bytes, sha) = Content("stored once");
        await store.PutAsync(sha, bytes.Length, new MemoryStream(bytes), ct);
        var written = File.GetLastWriteTimeUtc(store.PathOf(sha));
        File.SetLastWriteTimeUtc(store.PathOf(sha), written.AddHours(-1));

        await store.PutAsync(sha, bytes.Length, new MemoryStream(bytes), ct);
        var wrong = await Assert.ThrowsAsync<InvalidFieldException>(() => store.PutAsync(sha, bytes.Length, new MemoryStream(Content("stored ONCE").Bytes), ct));
        var output = Path.Combine(_root, "..", Path.GetFileName(_root) + "-out.js");
        await File.WriteAllBytesAsync(output, bytes, ct);
        Assert.Equal(sha, await store.PutFileAsync(output, ct));
        File.Delete(output);

        Assert.Equal("sha256", wrong.Field);
        Assert.Equal(written.AddHours(-1), File.GetLastWriteTimeUtc(store.PathOf(sha)));
        Assert.Equal([store.PathOf(sha)], StoredFiles());
    }

    [Fact]
    public void An_untouched_upload_is_its_own_output_below_the_output_directory_without_the_root_exclusions()
    {
        ManifestFile File(string path) => new(path, new string('a', 64), 1);
        IReadOnlyList<ManifestFile> uploaded = [File("index.html"), File("node_modules/x/index.js"), File(".git/HEAD"), File("public/b.css"), File("public/a.js"), File("src/.git/keep")];

        Assert.Equal(["index.html", "public/a.js", "public/b.css", "src/.git/keep"], OutputCollector.FromUpload(uploaded, ".", isProjectRoot: true).Select(f => f.Path));
        Assert.Equal(["a.js", "b.css"], OutputCollector.FromUpload(uploaded, "public", isProjectRoot: false).Select(f => f.Path));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
