using System.Security.Cryptography;
using CloudDeck.GrainInterfaces;
using CloudDeck.Grains.Artifacts;

namespace CloudDeck.Grains.Tests.Artifacts;

/// <summary>The store on a real directory: what it refuses leaves no trace, and concurrent writers of one hash agree.</summary>
public sealed class LocalArtifactStoreTests : IDisposable
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
    public async Task A_put_stores_the_file_under_its_hash_and_answers_it_as_present()
    {
        var store = new LocalArtifactStore(_root);
        var (bytes, sha) = Content("<h1>hello</h1>");
        Assert.Equal([sha], store.Missing([sha, sha]));

        await store.PutAsync(sha, bytes.Length, new MemoryStream(bytes), TestContext.Current.CancellationToken);

        Assert.True(store.Contains(sha));
        Assert.Empty(store.Missing([sha]));
        Assert.Equal(Path.Combine(_root, sha[..2], sha[2..]), store.PathOf(sha));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(store.PathOf(sha), TestContext.Current.CancellationToken));
        Assert.Equal([store.PathOf(sha)], StoredFiles());
    }

    [Fact]
    public async Task A_hash_or_size_mismatch_is_refused_and_nothing_is_stored()
    {
        var store = new LocalArtifactStore(_root);
        var (bytes, sha) = Content("body.js");
        var (_, otherSha) = Content("something else");
        var ct = TestContext.Current.CancellationToken;

        var wrongHash = await Assert.ThrowsAsync<InvalidFieldException>(() => store.PutAsync(otherSha, bytes.Length, new MemoryStream(bytes), ct));
        Assert.Equal("sha256", wrongHash.Field);
        var tooShort = await Assert.ThrowsAsync<InvalidFieldException>(() => store.PutAsync(sha, bytes.Length + 1, new MemoryStream(bytes), ct));
        Assert.Equal("size", tooShort.Field);
        var tooLong = await Assert.ThrowsAsync<InvalidFieldException>(() => store.PutAsync(sha, bytes.Length - 1, new MemoryStream(bytes), ct));
        Assert.Equal("size", tooLong.Field);
        var malformed = await Assert.ThrowsAsync<InvalidFieldException>(() => store.PutAsync("ABC", bytes.Length, new MemoryStream(bytes), ct));
        Assert.Equal("sha256", malformed.Field);

        Assert.False(store.Contains(sha));
        Assert.False(store.Contains(otherSha));
        Assert.Empty(StoredFiles());
    }

    [Fact]
    public async Task Concurrent_puts_of_one_hash_all_succeed_and_leave_one_complete_file()
    {
        var store = new LocalArtifactStore(_root);
        var bytes = RandomNumberGenerator.GetBytes(3 * 1024 * 1024);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            store.PutAsync(sha, bytes.Length, new MemoryStream(bytes), TestContext.Current.CancellationToken))));

        Assert.Equal([store.PathOf(sha)], StoredFiles());
        Assert.Equal(bytes, await File.ReadAllBytesAsync(store.PathOf(sha), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_reader_never_sees_a_partial_file_while_it_is_written()
    {
        var store = new LocalArtifactStore(_root);
        var bytes = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        // A body that stalls halfway: the file must not exist under its hash until the whole content is checked.
        var gate = new TaskCompletionSource();
        var body = new StallingStream(bytes, bytes.Length / 2, gate.Task);

        var put = store.PutAsync(sha, bytes.Length, body, TestContext.Current.CancellationToken);
        await body.Stalled;
        Assert.False(store.Contains(sha));
        Assert.False(File.Exists(store.PathOf(sha)));
        gate.SetResult();
        await put;
        Assert.Equal(bytes, await File.ReadAllBytesAsync(store.PathOf(sha), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_file_from_disk_is_stored_under_the_hash_it_answers()
    {
        var store = new LocalArtifactStore(_root);
        var source = Path.Combine(Directory.CreateTempSubdirectory("clouddeck-out-").FullName, "app.js");
        await File.WriteAllTextAsync(source, "console.log(1)", TestContext.Current.CancellationToken);

        var sha = await store.PutFileAsync(source, TestContext.Current.CancellationToken);

        Assert.Equal(Content("console.log(1)").Sha256, sha);
        Assert.Equal("console.log(1)", await File.ReadAllTextAsync(store.PathOf(sha), TestContext.Current.CancellationToken));
        Directory.Delete(Path.GetDirectoryName(source)!, recursive: true);
    }

    [Fact]
    public async Task Files_from_disk_put_together_answer_their_hashes_in_order_and_leave_no_temporary_file()
    {
        var store = new LocalArtifactStore(_root);
        var ct = TestContext.Current.CancellationToken;
        var output = Directory.CreateTempSubdirectory("clouddeck-out-").FullName;
        var known = await store.PutFileAsync(await WriteAsync(output, "known.css", "body{}"), ct);
        var texts = new[] { "<h1>index</h1>", "body{}", "console.log(2)", "<h1>index</h1>" };
        var paths = new List<string>();
        for (var i = 0; i < texts.Length; i++) paths.Add(await WriteAsync(output, $"file-{i}", texts[i]));

        var hashes = await store.PutFilesAsync(paths, ct);

        Assert.Equal(texts.Select(t => Content(t).Sha256), hashes);
        Assert.Equal(known, hashes[1]);
        foreach (var (sha, text) in hashes.Zip(texts)) Assert.Equal(text, await File.ReadAllTextAsync(store.PathOf(sha), ct));
        // The new contents were renamed into place after their one sync; nothing stays under tmp.
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "tmp")));
        Assert.Equal(3, StoredFiles().Length);
        Directory.Delete(output, recursive: true);
    }

    private static async Task<string> WriteAsync(string directory, string name, string text)
    {
        var path = Path.Combine(directory, name);
        await File.WriteAllTextAsync(path, text, TestContext.Current.CancellationToken);
        return path;
    }

    [Fact]
    public async Task A_content_is_deleted_only_when_no_organization_holds_it_and_never_one_stored_before_storage_was_counted()
    {
        var store = new LocalArtifactStore(_root);
        var ct = TestContext.Current.CancellationToken;
        var (shared, sharedSha) = Content("held by globex");
        var (alone, aloneSha) = Content("held by acme only");
        var (old, oldSha) = Content("stored before grants existed");
        foreach (var (bytes, sha) in new[] { (shared, sharedSha), (alone, aloneSha), (old, oldSha) })
        {
            await store.PutAsync(sha, bytes.Length, new MemoryStream(bytes), ct);
        }

        await store.GrantAsync("acme", [sharedSha, aloneSha], ct);
        await store.GrantAsync("globex", [sharedSha], ct);
        // A deployment of that time may serve it with no grant at all.
        File.SetLastWriteTimeUtc(store.PathOf(oldSha), DateTime.UtcNow.AddDays(-30));

        Assert.False(store.DeleteIfHeldByNone(aloneSha));
        store.Revoke("acme", sharedSha);
        store.Revoke("acme", aloneSha);
        Assert.Equal([sharedSha, aloneSha], store.MissingFor("acme", [sharedSha, aloneSha]));
        Assert.Equal([sharedSha], store.GrantsOf("globex"));

        Assert.False(store.DeleteIfHeldByNone(sharedSha));
        Assert.True(store.DeleteIfHeldByNone(aloneSha));
        Assert.False(store.DeleteIfHeldByNone(oldSha));
        Assert.Equal(shared.Length, store.SizeOf(sharedSha));
        Assert.Null(store.SizeOf(aloneSha));
        Assert.Equal(old.Length, store.SizeOf(oldSha));
        Assert.Equal(new[] { store.PathOf(sharedSha), store.PathOf(oldSha) }.Order(StringComparer.Ordinal), StoredFiles().Order(StringComparer.Ordinal));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private sealed class StallingStream(byte[] content, int stallAt, Task resume) : Stream
    {
        private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _position;

        public Task Stalled => _stalled.Task;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= stallAt && !resume.IsCompleted)
            {
                _stalled.TrySetResult();
                await resume;
            }

            var limit = _position < stallAt ? stallAt : content.Length;
            var count = Math.Min(buffer.Length, limit - _position);
            content.AsMemory(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => content.Length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
