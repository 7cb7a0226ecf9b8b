using System.Net;
using System.Net.Sockets;

namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>Ports the kernel hands out on 127.0.0.1; free when returned (nothing keeps them).</summary>
public static class FreePort
{
    public static int Next()
    {
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
}
