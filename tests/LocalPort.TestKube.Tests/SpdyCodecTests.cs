using System.IO.Compression;
using LocalPort.TestKube.Cluster;
using LocalPort.TestKube.Spdy;

namespace LocalPort.TestKube.Tests;

/// <summary>The pieces kubectl cannot be asked about directly: header compression, frames, selectors.</summary>
public sealed class SpdyCodecTests
{
    [Fact]
    public void The_dictionary_is_the_SPDY3_one()
    {
        // 1423 bytes; its Adler-32 is the DICTID every SPDY/3 peer (and kubectl) announces.
        Assert.Equal(1423, SpdyDictionary.Bytes.Length);
        Assert.Equal(0xe3c6a7c2u, SpdyDictionary.Id);
    }

    [Fact]
    public void The_decompressor_reads_consecutive_blocks_of_one_dictionary_primed_zlib_stream()
    {
        // Made by Python's zlib (level 9, zdict = the SPDY/3 dictionary, Z_SYNC_FLUSH after each block):
        // an independent compressor, shaped like kubectl's first two SYN_STREAMs.
        var first = Convert.FromBase64String("ePnjxqfCAiU6SPlbBEqrTBYGQJKzCBJbmaBUzGgAToclRamJudCihjUVFBEAAAAA//8=");
        var second = Convert.FromBase64String("IksrqJRKBAAAAP//");
        using var decompressor = new HeaderBlockDecompressor();

        var error = decompressor.Decompress(first);
        var data = decompressor.Decompress(second);

        Assert.Equal("port=80, requestid=0, streamtype=error", error.ToString());
        Assert.Equal("port=80, requestid=0, streamtype=data", data.ToString());
        Assert.Equal("data", data.Get("StreamType"));
    }

    [Fact]
    public void The_decompressor_rejects_a_stream_primed_with_another_dictionary()
    {
        byte[] block = [0x78, 0xF9, 0x12, 0x34, 0x56, 0x78, 0x00];
        using var decompressor = new HeaderBlockDecompressor();
        var error = Assert.Throws<InvalidDataException>(() => decompressor.Decompress(block));
        Assert.Contains("DICTID", error.Message);
    }

    [Fact]
    public void The_compressor_writes_one_zlib_stream_of_sync_flushed_blocks_any_inflater_reads()
    {
        var compressor = new HeaderBlockCompressor();
        var empty = new SpdyHeaders();
        var named = new SpdyHeaders();
        named.Add("X-Testkube", "yes");

        var first = compressor.Compress(empty);
        var second = compressor.Compress(named);

        Assert.Equal([0x78, 0x01], first[..2]);
        Assert.NotEqual(0x78, second[0]);
        // Every block ends like a Z_SYNC_FLUSH: Go's inflater needs that marker to release the bytes.
        Assert.Equal([0x00, 0x00, 0x00, 0xFF, 0xFF], first[^5..]);
        Assert.Equal([0x00, 0x00, 0x00, 0xFF, 0xFF], second[^5..]);

        using var inflater = new ZLibStream(new MemoryStream([.. first, .. second]), CompressionMode.Decompress);
        var expected = empty.Encode().Concat(named.Encode()).ToArray();
        var actual = new byte[expected.Length];
        inflater.ReadExactly(actual);
        Assert.Equal(expected, actual);
        Assert.Equal("x-testkube", System.Text.Encoding.ASCII.GetString(actual, 12, 10)); // names go out lower-case
    }

    [Fact]
    public async Task Frames_written_here_read_back_whatever_way_the_transport_splits_them()
    {
        byte[] wire =
        [
            .. SpdyFrames.Data(5, "hello"u8, fin: false),
            .. SpdyFrames.Data(5, [], fin: true),
            .. SpdyFrames.RstStream(7, RstStatus.Cancel),
            .. SpdyFrames.Ping(3),
            .. SpdyFrames.GoAway(9),
        ];
        var reader = new FrameReader(new TrickleTransport(wire, chunk: 3));

        var data = await SpdyFrames.ReadAsync(reader, CancellationToken.None);
        var fin = await SpdyFrames.ReadAsync(reader, CancellationToken.None);
        var reset = await SpdyFrames.ReadAsync(reader, CancellationToken.None);
        var ping = await SpdyFrames.ReadAsync(reader, CancellationToken.None);
        var goAway = await SpdyFrames.ReadAsync(reader, CancellationToken.None);

        Assert.Equal((SpdyFrameType.Data, 5u, "hello", false), (data!.Type, data.StreamId, System.Text.Encoding.ASCII.GetString(data.Payload), data.IsFin));
        Assert.Equal((SpdyFrameType.Data, 5u, 0, true), (fin!.Type, fin.StreamId, fin.Payload.Length, fin.IsFin));
        Assert.Equal((SpdyFrameType.RstStream, 7u), (reset!.Type, reset.StreamId));
        Assert.Equal((SpdyFrameType.Ping, 4), (ping!.Type, ping.Payload.Length));
        Assert.Equal((SpdyFrameType.GoAway, 8), (goAway!.Type, goAway.Payload.Length));
        Assert.Null(await SpdyFrames.ReadAsync(reader, CancellationToken.None));
    }

    [Theory]
    [InlineData("app=web", true)]
    [InlineData("app==web,tier=front", true)]
    [InlineData("app!=web", false)]
    [InlineData("app in (db, web)", true)]
    [InlineData("app notin (web)", false)]
    [InlineData("tier", true)]
    [InlineData("!tier", false)]
    [InlineData("app=db", false)]
    [InlineData("", true)]
    public void Label_selectors_match_like_the_API_server(string selector, bool matches)
    {
        var labels = TestKubeServer.Labels("app=web,tier=front");
        Assert.Equal(matches, LabelSelector.Parse(selector).Matches(labels));
    }

    private sealed class TrickleTransport(byte[] data, int chunk) : IFrameTransport
    {
        private int _offset;

        public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct)
        {
            var n = Math.Min(Math.Min(chunk, buffer.Length), data.Length - _offset);
            data.AsMemory(_offset, n).CopyTo(buffer);
            _offset += n;
            return ValueTask.FromResult(n);
        }

        public ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken ct) => ValueTask.CompletedTask;
        public Task CloseAsync() => Task.CompletedTask;
        public void Abort() { }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
