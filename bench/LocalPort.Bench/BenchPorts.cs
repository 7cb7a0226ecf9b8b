using System.Net;
using System.Net.Sockets;

namespace LocalPort.Bench;

/// <summary>
/// Local ports for the services under test, taken below the kernel's ephemeral range (ip_local_port_range) and
/// never reused within one bench run: a port from the ephemeral range can be taken by an outgoing connection
/// (or a client can connect to itself on it) while a supervisor is still starting.
/// </summary>
public static class BenchPorts
{
    private static readonly HashSet<int> Used = [];
    private static readonly object Gate = new();

    public static int Next() => Next(1)[0];

    public static int[] Next(int count)
    {
        var (low, high) = Range();
        var result = new List<int>();
        lock (Gate)
        {
            for (var tries = 0; result.Count < count; tries++)
            {
                if (tries > 100_000) throw new InvalidOperationException($"no {count} free ports in {low}–{high}");
                var port = Random.Shared.Next(low, high);
                if (Used.Contains(port) || !Free(port)) continue;
                Used.Add(port);
                result.Add(port);
            }
        }
        return result.ToArray();
    }

    private static bool Free(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>10000 ports just below the ephemeral range (32768 on a default kernel).</summary>
    private static (int Low, int High) Range()
    {
        var ephemeralLow = 32768;
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            ephemeralLow = int.Parse(text[0]);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException) { }
        var high = Math.Max(ephemeralLow, 12000);
        return (Math.Max(1024, high - 10000), high);
    }
}
