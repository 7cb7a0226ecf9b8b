using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace LocalPort.TestKube.Spdy;

/// <summary>A decoded SPDY name/value header block. Names are lower-case; repeated values are NUL-joined on the wire.</summary>
internal sealed class SpdyHeaders
{
    private readonly List<KeyValuePair<string, string>> _pairs = [];

    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    public void Add(string name, string value) => _pairs.Add(new(name, value));

    public string? Get(string name)
    {
        foreach (var (key, value) in _pairs)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }
        return null;
    }

    public override string ToString() => string.Join(", ", _pairs.Select(p => $"{p.Key}={p.Value}"));

    public byte[] Encode()
    {
        using var buffer = new MemoryStream();
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)_pairs.Count);
        buffer.Write(word);
        foreach (var (name, value) in _pairs)
        {
            foreach (var text in new[] { name.ToLowerInvariant(), value })
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                BinaryPrimitives.WriteUInt32BigEndian(word, (uint)bytes.Length);
                buffer.Write(word);
                buffer.Write(bytes);
            }
        }
        return buffer.ToArray();
    }
}

/// <summary>
/// Inflates the header blocks a SPDY/3 peer sends. SPDY keeps ONE zlib stream per direction for
/// the whole session, flushed (Z_SYNC_FLUSH) after each block, and the peer primes it with the
/// SPDY dictionary (FDICT). .NET's zlib has no preset-dictionary API, so the dictionary is put
/// into the inflater's window the way a preset dictionary works anyway: the raw-deflate inflater is
/// first fed a non-final stored block holding the dictionary, whose output is discarded; the peer's
/// back-references then reach into it. The zlib header and DICTID are checked and stripped by hand.
/// </summary>
internal sealed class HeaderBlockDecompressor : IDisposable
{
    private readonly FeedStream _feed = new();
    private DeflateStream? _inflater;

    public SpdyHeaders Decompress(ReadOnlySpan<byte> compressed)
    {
        if (_inflater is null)
        {
            compressed = Start(compressed);
        }
        _feed.Append(compressed);

        var headers = new SpdyHeaders();
        var count = ReadUInt32();
        if (count > 1024)
        {
            throw new InvalidDataException($"SPDY header block claims {count} headers");
        }
        for (var i = 0; i < count; i++)
        {
            var name = ReadString();
            var value = ReadString();
            // Several values for one name travel NUL-separated; kubectl never sends any.
            foreach (var part in value.Split('\0'))
            {
                headers.Add(name, part);
            }
        }
        return headers;
    }

    private ReadOnlySpan<byte> Start(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2)
        {
            throw new InvalidDataException("SPDY header block too short for a zlib header");
        }
        byte cmf = data[0], flg = data[1];
        if ((cmf & 0x0F) != 8 || ((cmf << 8) | flg) % 31 != 0)
        {
            throw new InvalidDataException($"SPDY header block is not a zlib stream (0x{cmf:x2}{flg:x2})");
        }
        data = data[2..];
        _inflater = new DeflateStream(_feed, CompressionMode.Decompress, leaveOpen: true);
        if ((flg & 0x20) != 0)
        {
            var dictId = BinaryPrimitives.ReadUInt32BigEndian(data);
            data = data[4..];
            if (dictId != SpdyDictionary.Id)
            {
                throw new InvalidDataException($"zlib DICTID 0x{dictId:x8} is not the SPDY/3 dictionary's 0x{SpdyDictionary.Id:x8}");
            }
            _feed.Append(StoredBlocks.Encode(SpdyDictionary.Bytes));
            var discard = new byte[SpdyDictionary.Bytes.Length];
            _inflater.ReadExactly(discard);
        }
        return data;
    }

    private uint ReadUInt32()
    {
        Span<byte> word = stackalloc byte[4];
        _inflater!.ReadExactly(word);
        return BinaryPrimitives.ReadUInt32BigEndian(word);
    }

    private string ReadString()
    {
        var length = ReadUInt32();
        if (length > 1 << 20)
        {
            throw new InvalidDataException($"SPDY header of {length} bytes");
        }
        var bytes = new byte[length];
        _inflater!.ReadExactly(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    public void Dispose() => _inflater?.Dispose();

    /// <summary>
    /// The inflater's input: whatever frames have delivered so far. It never blocks: the parser only
    /// asks for bytes that the current frame's flushed block contains.
    /// </summary>
    private sealed class FeedStream : Stream
    {
        private byte[] _buffer = new byte[4096];
        private int _start, _end;

        public void Append(ReadOnlySpan<byte> data)
        {
            if (_end + data.Length > _buffer.Length)
            {
                var live = _end - _start;
                var target = live + data.Length > _buffer.Length ? new byte[Math.Max(_buffer.Length * 2, live + data.Length)] : _buffer;
                Buffer.BlockCopy(_buffer, _start, target, 0, live);
                _buffer = target;
                _start = 0;
                _end = live;
            }
            data.CopyTo(_buffer.AsSpan(_end));
            _end += data.Length;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> destination)
        {
            var n = Math.Min(destination.Length, _end - _start);
            _buffer.AsSpan(_start, n).CopyTo(destination);
            _start += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>
/// Compresses the header blocks this server sends. The output is a valid zlib stream made of
/// stored (uncompressed) deflate blocks, each header block followed by the empty stored block that
/// ends every sync flush; the zlib header does not set FDICT, so the peer's inflater (Go's
/// zlib.NewReaderDict) never needs the dictionary. Blocks are tiny (SYN_REPLY carries no headers).
/// </summary>
internal sealed class HeaderBlockCompressor
{
    private bool _started;

    public byte[] Compress(SpdyHeaders headers)
    {
        // Data, then the empty stored block a Z_SYNC_FLUSH ends with. The marker matters: Go's
        // inflater hands out a stored block's bytes only when it reaches the next block, and it must
        // find that block inside this frame (the framer checks the payload is consumed exactly).
        byte[] blocks = [.. StoredBlocks.Encode(headers.Encode()), .. StoredBlocks.SyncMarker];
        if (_started)
        {
            return blocks;
        }
        _started = true;
        // CMF 0x78: deflate, 32K window. FLG 0x01: no FDICT, fastest level, FCHECK making 0x7801 % 31 == 0.
        return [0x78, 0x01, .. blocks];
    }
}

internal static class StoredBlocks
{
    /// <summary>An empty non-final stored block: the tail of every Z_SYNC_FLUSH.</summary>
    public static ReadOnlySpan<byte> SyncMarker => [0x00, 0x00, 0x00, 0xFF, 0xFF];

    /// <summary>Non-final stored deflate blocks (BFINAL=0, BTYPE=00) carrying <paramref name="data"/>.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream(data.Length + 16);
        do
        {
            var chunk = data[..Math.Min(data.Length, ushort.MaxValue)];
            data = data[chunk.Length..];
            var length = (ushort)chunk.Length;
            output.WriteByte(0x00);
            output.WriteByte((byte)length);
            output.WriteByte((byte)(length >> 8));
            output.WriteByte((byte)~length);
            output.WriteByte((byte)(~length >> 8));
            output.Write(chunk);
        }
        while (!data.IsEmpty);
        return output.ToArray();
    }
}
