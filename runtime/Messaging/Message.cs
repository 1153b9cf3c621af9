using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text.Json;

namespace Actors.Runtime;

internal enum MessageKind : byte
{
    Hello = 1,
    Request = 2,
    Response = 3,
    Ping = 4,
    Pong = 5,
    IndirectPing = 6,
    Gossip = 7,
}

/// <summary>
/// One frame on a silo connection: a small JSON header (routing, correlation, deadline, trace context) and a
/// body (the request's arguments or the answer) kept as raw bytes so it is parsed only where it is used.
/// Frame = int32 header length, int32 body length, header, body (big-endian lengths).
/// </summary>
internal sealed class Message
{
    public const int MaxFrameBytes = 64 * 1024 * 1024;

    public MessageKind Kind { get; init; }

    public long CorrelationId { get; init; }

    /// <summary>Requests: the target grain. Indirect pings: the silo to probe.</summary>
    public string? Target { get; init; }

    /// <summary>Requests: the request class to deserialize the body into.</summary>
    public string? RequestType { get; init; }

    /// <summary>Milliseconds left until the caller gives up.</summary>
    public int TimeoutMs { get; init; }

    public int Hops { get; init; }

    /// <summary>W3C trace context of the caller.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The caller's chain of waiting turns, for deadlock detection across silos.</summary>
    public string? Chain { get; init; }

    /// <summary>Hello: who is calling (a silo address, or "client/…"). Responses: nothing.</summary>
    public string? Sender { get; init; }

    public string? ExceptionType { get; init; }

    public string? ExceptionMessage { get; init; }

    public ReadOnlyMemory<byte> Body { get; init; }

    public void WriteTo(PipeWriter writer)
    {
        var header = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteNumber("k", (byte)Kind);
            json.WriteNumber("c", CorrelationId);
            WriteIfSet(json, "t", Target);
            WriteIfSet(json, "r", RequestType);
            if (TimeoutMs != 0)
            {
                json.WriteNumber("ms", TimeoutMs);
            }

            if (Hops != 0)
            {
                json.WriteNumber("h", Hops);
            }

            WriteIfSet(json, "tp", TraceParent);
            WriteIfSet(json, "ch", Chain);
            WriteIfSet(json, "s", Sender);
            WriteIfSet(json, "et", ExceptionType);
            WriteIfSet(json, "em", ExceptionMessage);
            json.WriteEndObject();
        }

        var span = writer.GetSpan(8);
        BinaryPrimitives.WriteInt32BigEndian(span, header.WrittenCount);
        BinaryPrimitives.WriteInt32BigEndian(span[4..], Body.Length);
        writer.Advance(8);
        writer.Write(header.WrittenSpan);
        writer.Write(Body.Span);
    }

    private static void WriteIfSet(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    /// <summary>Takes one whole frame off the front of <paramref name="buffer"/>, if there is one.</summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out Message? message)
    {
        message = null;
        if (buffer.Length < 8)
        {
            return false;
        }

        Span<byte> lengths = stackalloc byte[8];
        buffer.Slice(0, 8).CopyTo(lengths);
        var headerLength = BinaryPrimitives.ReadInt32BigEndian(lengths);
        var bodyLength = BinaryPrimitives.ReadInt32BigEndian(lengths[4..]);
        if (headerLength < 0 || bodyLength < 0 || (long)headerLength + bodyLength > MaxFrameBytes)
        {
            throw new InvalidDataException($"A frame of {headerLength} + {bodyLength} bytes is not valid.");
        }

        if (buffer.Length < 8L + headerLength + bodyLength)
        {
            return false;
        }

        var header = buffer.Slice(8, headerLength).ToArray();
        var body = buffer.Slice(8 + headerLength, bodyLength).ToArray();
        buffer = buffer.Slice(8 + headerLength + bodyLength);
        message = Parse(header, body);
        return true;
    }

    private static Message Parse(byte[] header, byte[] body)
    {
        var reader = new Utf8JsonReader(header);
        MessageKind kind = default;
        long correlation = 0;
        int timeout = 0, hops = 0;
        string? target = null, requestType = null, trace = null, chain = null, sender = null, exceptionType = null, exceptionMessage = null;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "k": kind = (MessageKind)reader.GetByte(); break;
                case "c": correlation = reader.GetInt64(); break;
                case "t": target = reader.GetString(); break;
                case "r": requestType = reader.GetString(); break;
                case "ms": timeout = reader.GetInt32(); break;
                case "h": hops = reader.GetInt32(); break;
                case "tp": trace = reader.GetString(); break;
                case "ch": chain = reader.GetString(); break;
                case "s": sender = reader.GetString(); break;
                case "et": exceptionType = reader.GetString(); break;
                case "em": exceptionMessage = reader.GetString(); break;
                default: reader.Skip(); break;
            }
        }

        return new Message
        {
            Kind = kind, CorrelationId = correlation, Target = target, RequestType = requestType, TimeoutMs = timeout, Hops = hops,
            TraceParent = trace, Chain = chain, Sender = sender, ExceptionType = exceptionType, ExceptionMessage = exceptionMessage,
            Body = body,
        };
    }
}
