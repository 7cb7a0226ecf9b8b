using System.Buffers.Binary;

namespace LocalPort.TestKube.Spdy;

internal enum SpdyFrameType : ushort
{
    Data = 0,
    SynStream = 1,
    SynReply = 2,
    RstStream = 3,
    Settings = 4,
    Ping = 6,
    GoAway = 7,
    Headers = 8,
    WindowUpdate = 9,
}

internal static class SpdyFlags
{
    public const byte Fin = 0x01;
    public const byte Unidirectional = 0x02;
}

internal enum RstStatus : uint
{
    ProtocolError = 1,
    InvalidStream = 2,
    RefusedStream = 3,
    Cancel = 5,
    InternalError = 6,
}

/// <summary>One SPDY/3 frame. For control frames <see cref="StreamId"/> is read from the payload where the type has one.</summary>
internal sealed record SpdyFrame(SpdyFrameType Type, byte Flags, uint StreamId, byte[] Payload)
{
    public bool IsFin => (Flags & SpdyFlags.Fin) != 0;
}

internal static class SpdyFrames
{
    public const ushort Version = 3;
    public const int MaxLength = (1 << 24) - 1;

    /// <summary>Reads one frame, or null at a clean end of stream before a frame starts.</summary>
    public static async Task<SpdyFrame?> ReadAsync(FrameReader reader, CancellationToken ct)
    {
        var header = new byte[8];
        if (!await reader.ReadExactlyOrEndAsync(header, ct))
        {
            return null;
        }
        var first = BinaryPrimitives.ReadUInt32BigEndian(header);
        var flagsAndLength = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        var flags = (byte)(flagsAndLength >> 24);
        var length = (int)(flagsAndLength & 0xFFFFFF);
        var payload = new byte[length];
        if (length > 0 && !await reader.ReadExactlyOrEndAsync(payload, ct))
        {
            throw new EndOfStreamException("SPDY frame truncated");
        }
        if ((first & 0x8000_0000) == 0)
        {
            return new SpdyFrame(SpdyFrameType.Data, flags, first & 0x7FFF_FFFF, payload);
        }
        var version = (ushort)((first >> 16) & 0x7FFF);
        if (version != Version)
        {
            throw new InvalidDataException($"SPDY version {version} control frame (only 3 is spoken)");
        }
        var type = (SpdyFrameType)(ushort)(first & 0xFFFF);
        uint streamId = 0;
        if (payload.Length >= 4 && type is SpdyFrameType.SynStream or SpdyFrameType.SynReply or SpdyFrameType.RstStream
            or SpdyFrameType.Headers or SpdyFrameType.WindowUpdate)
        {
            streamId = BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF;
        }
        return new SpdyFrame(type, flags, streamId, payload);
    }

    public static byte[] Data(uint streamId, ReadOnlySpan<byte> data, bool fin)
    {
        var frame = new byte[8 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, streamId & 0x7FFF_FFFF);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), ((uint)(fin ? SpdyFlags.Fin : 0) << 24) | (uint)data.Length);
        data.CopyTo(frame.AsSpan(8));
        return frame;
    }

    public static byte[] SynReply(uint streamId, byte[] compressedHeaders) =>
        Control(SpdyFrameType.SynReply, 0, w => w.UInt32(streamId).Bytes(compressedHeaders));

    public static byte[] RstStream(uint streamId, RstStatus status) =>
        Control(SpdyFrameType.RstStream, 0, w => w.UInt32(streamId).UInt32((uint)status));

    public static byte[] GoAway(uint lastGoodStreamId, uint status = 0) =>
        Control(SpdyFrameType.GoAway, 0, w => w.UInt32(lastGoodStreamId).UInt32(status));

    public static byte[] Ping(uint id) => Control(SpdyFrameType.Ping, 0, w => w.UInt32(id));

    private static byte[] Control(SpdyFrameType type, byte flags, Action<PayloadWriter> body)
    {
        var writer = new PayloadWriter();
        body(writer);
        var payload = writer.ToArray();
        var frame = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)(0x8000 | Version));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)type);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), ((uint)flags << 24) | (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(8));
        return frame;
    }

    private sealed class PayloadWriter
    {
        private readonly MemoryStream _buffer = new();

        public PayloadWriter UInt32(uint value)
        {
            Span<byte> word = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(word, value);
            _buffer.Write(word);
            return this;
        }

        public PayloadWriter Bytes(byte[] bytes)
        {
            _buffer.Write(bytes);
            return this;
        }

        public byte[] ToArray() => _buffer.ToArray();
    }
}

/// <summary>Buffered reads over a frame transport, which may deliver frames split or merged arbitrarily.</summary>
internal sealed class FrameReader(IFrameTransport transport)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    /// <summary>Fills <paramref name="destination"/>; false if the transport ended before the first byte.</summary>
    public async Task<bool> ReadExactlyOrEndAsync(Memory<byte> destination, CancellationToken ct)
    {
        var filled = 0;
        while (filled < destination.Length)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = await transport.ReadAsync(_buffer, ct);
                if (_end == 0)
                {
                    if (filled == 0)
                    {
                        return false;
                    }
                    throw new EndOfStreamException("transport closed mid-frame");
                }
            }
            var n = Math.Min(destination.Length - filled, _end - _start);
            _buffer.AsMemory(_start, n).CopyTo(destination[filled..]);
            _start += n;
            filled += n;
        }
        return true;
    }
}
