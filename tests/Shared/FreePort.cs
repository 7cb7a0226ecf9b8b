using System.Net;
using System.Net.Sockets;

namespace LocalPort.Testing;

/// <summary>
/// Ports on 127.0.0.1 that are free when returned (nothing keeps them), picked below the kernel's ephemeral range; one
/// copy of this file is linked into each test project. Ports in that range go to every outgoing connection and every bind to port 0 of every process — the other test
/// assemblies run alongside — so a port picked there was at times taken before the test bound it ("already in use
/// by pid N", a test host). Where the range leaves no room below it, the kernel picks, as before.
/// </summary>
internal static class FreePort
{
    private const int Lowest = 10000;

    public static int Next()
    {
        var below = EphemeralLow();
        if (below - Lowest >= 1000)
            for (var attempt = 0; attempt < 100; attempt++)
            {
                var port = Random.Shared.Next(Lowest, below);
                if (IsFree(port)) return port;
            }
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Several distinct free ports.</summary>
    public static int[] Next(int count)
    {
        var ports = new HashSet<int>();
        while (ports.Count < count) ports.Add(Next());
        return ports.ToArray();
    }

    private static bool IsFree(int port)
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

    /// <summary>The first port of the kernel's ephemeral range (Linux: net.ipv4.ip_local_port_range; elsewhere 49152).</summary>
    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 49152;
        }
    }
}
