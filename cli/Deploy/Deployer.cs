using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using CloudDeck.Cli.Api;
using CloudDeck.Cli.Commands;
using CloudDeck.Cli.Config;
using CloudDeck.Cli.Output;

namespace CloudDeck.Cli.Deploy;

/// <summary>What an upload did, counted in distinct contents (two paths with the same bytes are one upload).</summary>
public sealed record UploadResult(int Uploaded, long UploadedBytes, int AlreadyStored);

/// <summary>
/// The client half of an upload deployment: hash the folder, ask which contents the API lacks, upload only those
/// (a few at a time), then create the deployment from the manifest.
/// </summary>
public sealed class Deployer(ApiClient api, Terminal terminal)
{
    /// <summary>Concurrent uploads: enough to hide round trips, few enough not to starve the API of connections.</summary>
    public int Parallelism { get; init; } = 4;

    public async Task<IReadOnlyList<HashedFile>> HashAsync(IReadOnlyList<LocalFile> files, CancellationToken cancellationToken)
    {
        var hashed = new HashedFile[files.Count];
        await terminal.ProgressAsync("hashing", files.Sum(f => f.Size), async progress =>
        {
            await Parallel.ForAsync(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = cancellationToken }, async (i, ct) =>
            {
                hashed[i] = await FileScanner.HashAsync(files[i], ct);
                progress.Report(hashed[i].Size);
            });
            return true;
        });
        return hashed;
    }

    public async Task<UploadResult> UploadAsync(string org, IReadOnlyList<HashedFile> files, CancellationToken cancellationToken)
    {
        var distinct = Manifest.Distinct(files);
        var byHash = distinct.ToDictionary(f => f.Sha256, StringComparer.Ordinal);
        var missing = new List<HashedFile>();
        foreach (var body in Manifest.MissingRequests(distinct))
        {
            var answer = await api.PostAsync($"api/v1/orgs/{Context.Escape(org)}/files/missing", body, cancellationToken);
            foreach (var hash in Fields.Items(answer, "missing"))
            {
                // Only what was asked about: a confused server cannot make deck read or send other files.
                if (hash.GetValue<string>() is { } text && byHash.Remove(text, out var file)) missing.Add(file);
            }
        }

        long sent = 0;
        await terminal.ProgressAsync("uploading", missing.Sum(f => f.Size), async progress =>
        {
            await Parallel.ForEachAsync(Batches(missing), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (batch, ct) =>
            {
                if (batch.Count > 1 && await UploadBatchAsync(org, batch, ct))
                {
                    Interlocked.Add(ref sent, batch.Sum(f => f.Size));
                    progress.Report(batch.Sum(f => f.Size));
                    return;
                }

                foreach (var file in batch)
                {
                    await UploadOneAsync(org, file, ct);
                    Interlocked.Add(ref sent, file.Size);
                    progress.Report(file.Size);
                }
            });
            return true;
        });
        return new UploadResult(missing.Count, sent, distinct.Count - missing.Count);
    }

    /// <summary>Small files go many to a request (fewer round trips, one sync per batch on the server); a large one alone.</summary>
    public int MaxBatchFiles { get; init; } = 100;

    public long MaxBatchBytes { get; init; } = 4L * 1024 * 1024;

    private IEnumerable<IReadOnlyList<HashedFile>> Batches(IReadOnlyList<HashedFile> files)
    {
        var batch = new List<HashedFile>();
        long bytes = 0;
        foreach (var file in files)
        {
            if (batch.Count > 0 && (batch.Count == MaxBatchFiles || bytes + file.Size > MaxBatchBytes))
            {
                yield return batch;
                batch = [];
                bytes = 0;
            }

            batch.Add(file);
            bytes += file.Size;
        }

        if (batch.Count > 0) yield return batch;
    }

    /// <returns>false when the API has no batch upload (an older server): the caller then uploads file by file.</returns>
    private async Task<bool> UploadBatchAsync(string org, IReadOnlyList<HashedFile> batch, CancellationToken cancellationToken)
    {
        if (_noBatches) return false;
        try
        {
            using var response = await api.SendAsync(
                () => new HttpRequestMessage(HttpMethod.Post, ApiClient.Relative($"api/v1/orgs/{Context.Escape(org)}/files/batch")) { Content = new FileBatchContent(batch) },
                HttpCompletionOption.ResponseContentRead, cancellationToken);
            return true;
        }
        catch (ApiException e) when (e.Status is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.MethodNotAllowed)
        {
            _noBatches = true;
            return false;
        }
        catch (ApiException e)
        {
            throw new ApiException(e.Status, $"uploading {batch.Count} files ({batch[0].Path} …): {e.Message}");
        }
    }

    private volatile bool _noBatches;

    private async Task UploadOneAsync(string org, HashedFile file, CancellationToken cancellationToken)
    {
        var opened = new ConcurrentBag<Stream>();
        try
        {
            using var response = await api.SendAsync(() =>
            {
                var stream = File.OpenRead(file.FullPath);
                opened.Add(stream);
                var content = new StreamContent(stream, 1 << 16);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                // The API requires Content-Length (no chunked uploads): it is the size that was hashed.
                content.Headers.ContentLength = file.Size;
                return new HttpRequestMessage(HttpMethod.Put, ApiClient.Relative($"api/v1/orgs/{Context.Escape(org)}/files/{file.Sha256}")) { Content = content };
            }, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (ApiException e)
        {
            throw new ApiException(e.Status, $"uploading {file.Path}: {e.Message}");
        }
        finally
        {
            foreach (var stream in opened) await stream.DisposeAsync();
        }
    }

    /// <returns>The created deployment (DeploymentView).</returns>
    public async Task<JsonNode> CreateAsync(ProjectLink link, IReadOnlyList<HashedFile> files, bool production, CancellationToken cancellationToken) =>
        await api.PostAsync(Context.ProjectPath(link) + "/deployments", Manifest.DeploymentRequest(files, production), cancellationToken)
        ?? throw new ApiException(System.Net.HttpStatusCode.BadGateway, "the API created the deployment but answered no body");

    /// <summary>
    /// The deployment once it has left "building": a build's end is reported to its deployment beside the log's
    /// completion, so the two can be a moment apart. That moment is usually a few milliseconds, so deck asks again soon at first and
    /// backs off to every 250 ms (a fixed 250 ms made every deploy wait about that long after its build).
    /// </summary>
    public async Task<JsonNode?> SettledAsync(string deploymentId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var pause = TimeSpan.FromMilliseconds(10);
        while (true)
        {
            var deployment = await api.GetAsync($"api/v1/deployments/{Context.Escape(deploymentId)}", cancellationToken);
            var status = Fields.Text(deployment, "status");
            if (status is not ("building" or "queued") || DateTime.UtcNow > deadline) return deployment;
            await Task.Delay(pause, cancellationToken);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(250).Ticks));
        }
    }
}
