using System.Net.Sockets;
using System.Text;

namespace LocalPort.Core.Health;

/// <summary>Sends RESP <c>PING</c> and expects <c>+PONG</c>; <c>-NOAUTH</c> also proves a live server.</summary>
public sealed class RedisProbe : IHealthProbe
{
    private static readonly byte[] Ping = "PING\r\n"u8.ToArray();
    private const int MaxReplyBytes = 512;

    private readonly int _port;
    private readonly TimeSpan _timeout;

    public RedisProbe(int port, TimeSpan timeout)
    {
        _port = port;
        _timeout = timeout;
    }

    public async Task<ProbeResult> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var socket = await Loopback.ConnectAsync(_port, cancellationToken).ConfigureAwait(false);
            await Loopback.SendAllAsync(socket, Ping, cancellationToken).ConfigureAwait(false);
            var reply = await ReadLineAsync(socket, cancellationToken).ConfigureAwait(false);
            if (reply == "+PONG") return ProbeResult.Ok;
            // A password-protected server refuses PING without AUTH, but it did answer.
            if (reply.StartsWith("-NOAUTH", StringComparison.Ordinal)) return ProbeResult.Ok;
            return ProbeResult.Fail("unexpected reply to PING: " + ProbeErrors.FirstLine(reply, 80));
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            return ProbeResult.Fail(ProbeErrors.TimedOut(_timeout));
        }
        catch (Exception e)
        {
            return ProbeResult.Fail(ProbeErrors.Describe(e));
        }
    }

    private static async Task<string> ReadLineAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxReplyBytes];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0) throw new EndOfStreamException();
            filled += read;
            var end = buffer.AsSpan(0, filled).IndexOf("\r\n"u8);
            if (end >= 0) return Encoding.UTF8.GetString(buffer, 0, end);
        }
        // A reply this long without a line end is not RESP.
        return Encoding.UTF8.GetString(buffer, 0, filled);
    }
}
