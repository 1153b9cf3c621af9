using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace CloudDeck.Api.Tests;

/// <summary>
/// A JSON body whose length is not known up front, so HttpClient sends it with <c>Transfer-Encoding: chunked</c>
/// and no Content-Length: the server cannot refuse it by its header and has to count what it reads.
/// </summary>
public sealed class ChunkedJson : HttpContent
{
    private const int ChunkSize = 8 * 1024;
    private readonly byte[] _bytes;

    public ChunkedJson(string json)
    {
        _bytes = Encoding.UTF8.GetBytes(json);
        Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        for (var offset = 0; offset < _bytes.Length; offset += ChunkSize)
        {
            await stream.WriteAsync(_bytes.AsMemory(offset, Math.Min(ChunkSize, _bytes.Length - offset)));
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
