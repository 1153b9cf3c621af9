namespace CloudDeck.Api.Edge;

/// <summary>
/// The request body as the proxy reads it, noting whether any of it was read: a request whose body was consumed by a
/// failed attempt cannot be sent again.
/// </summary>
internal sealed class ReadTrackingStream(Stream inner) : Stream
{
    public bool WasRead { get; private set; }

    /// <summary>Wraps the body of a request that can have one; null (nothing to track) for the others.</summary>
    public static ReadTrackingStream? Install(HttpContext http)
    {
        var request = http.Request;
        if (request.ContentLength is null or 0 && !request.Headers.ContainsKey(Microsoft.Net.Http.Headers.HeaderNames.TransferEncoding)) return null;
        var tracking = new ReadTrackingStream(request.Body);
        request.Body = tracking;
        return tracking;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        WasRead = true;
        return inner.Read(buffer, offset, count);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        WasRead = true;
        return inner.ReadAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        WasRead = true;
        return inner.CopyToAsync(destination, bufferSize, cancellationToken);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
