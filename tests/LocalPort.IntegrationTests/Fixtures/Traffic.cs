using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LocalPort.IntegrationTests.Fixtures;

public enum ConnectOutcome { Accepted, Refused, Failed }

/// <summary>Client-side traffic through a local port, each call bounded by its own timeout.</summary>
public static class Traffic
{
    /// <summary>One echo round trip: connect, send a unique payload, read the same bytes back.</summary>
    public static async Task<bool> TryEchoAsync(int port, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            var payload = Encoding.ASCII.GetBytes($"ping {Guid.NewGuid():N}\n");
            await socket.SendAsync(payload, SocketFlags.None, cts.Token);
            var received = new byte[payload.Length];
            var total = 0;
            while (total < received.Length)
            {
                var read = await socket.ReceiveAsync(received.AsMemory(total), SocketFlags.None, cts.Token);
                if (read == 0) return false;
                total += read;
            }
            return received.AsSpan().SequenceEqual(payload);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    /// <summary>GET / through the port; the body, or null when no complete response came back in time.</summary>
    public static async Task<string?> TryHttpGetAsync(int port, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
                SocketFlags.None, cts.Token);
            var response = new MemoryStream();
            var buffer = new byte[4096];
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (read == 0) break;
                response.Write(buffer, 0, read);
            }
            var text = Encoding.UTF8.GetString(response.ToArray());
            if (!text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal)) return null;
            var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            return split < 0 ? null : text[(split + 4)..];
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    /// <summary>A bare connect: did the kernel accept it, refuse it, or something else?</summary>
    public static async Task<ConnectOutcome> ConnectAsync(int port, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            return ConnectOutcome.Accepted;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return ConnectOutcome.Refused;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return ConnectOutcome.Failed;
        }
    }

    public static bool Refuses(int port) => ConnectAsync(port, TimeSpan.FromSeconds(2)).GetAwaiter().GetResult() == ConnectOutcome.Refused;

    /// <summary>Retries echo round trips until one succeeds or <paramref name="timeout"/> passes.</summary>
    public static Task<bool> EchoEventuallyAsync(int port, TimeSpan timeout) =>
        Poll.UntilAsync(() => TryEchoAsync(port, TimeSpan.FromSeconds(2)), timeout);
}
