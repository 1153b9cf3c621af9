using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace CloudDeck.Cli.Deploy;

/// <summary>
/// The body of <c>POST files/batch</c>: per file a line <c>&lt;sha256&gt; &lt;size&gt;\n</c> and then its bytes, read
/// from disk as the request is sent (nothing is held in memory), with a Content-Length since the API refuses chunked bodies.
/// </summary>
public sealed class FileBatchContent : HttpContent
{
    private readonly IReadOnlyList<HashedFile> _files;

    public FileBatchContent(IReadOnlyList<HashedFile> files)
    {
        _files = files;
        Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        Headers.ContentLength = _files.Sum(f => Header(f).Length + f.Size);
    }

    public static byte[] Header(HashedFile file) => Encoding.ASCII.GetBytes($"{file.Sha256} {file.Size.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n");

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        foreach (var file in _files)
        {
            await stream.WriteAsync(Header(file), cancellationToken);
            await using var source = new FileStream(file.FullPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var left = file.Size;
            while (left > 0)
            {
                var read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken);
                if (read == 0) throw new IOException($"{file.Path} changed while it was being deployed (it is shorter than when it was hashed)");
                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                left -= read;
            }
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = Headers.ContentLength ?? 0;
        return true;
    }
}
