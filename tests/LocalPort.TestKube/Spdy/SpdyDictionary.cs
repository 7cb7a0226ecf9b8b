using System.Buffers.Binary;
using System.Text;

namespace LocalPort.TestKube.Spdy;

/// <summary>
/// The SPDY/3 header-compression dictionary (SPDY draft 3, section 2.6.10.1). Built from its
/// definition rather than pasted as bytes: a run of length-prefixed header names and values
/// (4-byte big-endian length, then the ASCII text), followed by a run of raw text.
/// Its Adler-32 is the DICTID kubectl puts in the zlib header of its first SYN_STREAM.
/// </summary>
internal static class SpdyDictionary
{
    private static readonly string[] Words =
    [
        "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
        "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
        "cache-control", "connection", "content-base", "content-encoding", "content-language",
        "content-length", "content-location", "content-md5", "content-range", "content-type",
        "date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since",
        "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
        "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
        "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent",
        "vary", "via", "warning", "www-authenticate", "method", "get", "status", "200 OK",
        "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
    ];

    private const string Tail =
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        + "203 Non-Authoritative Information"
        + "204 No Content"
        + "301 Moved Permanently"
        + "400 Bad Request"
        + "401 Unauthorized"
        + "403 Forbidden"
        + "404 Not Found"
        + "500 Internal Server Error"
        + "501 Not Implemented"
        + "503 Service Unavailable"
        + "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
        + "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        + "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,"
        + "text/plain,text/javascript,public"
        + "private"
        + "max-age="
        + "gzip,deflate,sdch"
        + "charset=utf-8"
        + "charset=iso-8859-1,utf-,*,enq=0.";

    public static readonly byte[] Bytes = Build();

    /// <summary>Adler-32 of <see cref="Bytes"/>: the DICTID a SPDY/3 peer announces.</summary>
    public static readonly uint Id = Adler32.Compute(Bytes);

    private static byte[] Build()
    {
        var buffer = new List<byte>(1500);
        Span<byte> length = stackalloc byte[4];
        foreach (var word in Words)
        {
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)word.Length);
            buffer.AddRange(length.ToArray());
            buffer.AddRange(Encoding.ASCII.GetBytes(word));
        }
        buffer.AddRange(Encoding.ASCII.GetBytes(Tail));
        return buffer.ToArray();
    }
}

internal static class Adler32
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        const uint Mod = 65521;
        uint a = 1, b = 0;
        foreach (var value in data)
        {
            a = (a + value) % Mod;
            b = (b + a) % Mod;
        }
        return (b << 16) | a;
    }
}
