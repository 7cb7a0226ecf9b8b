using System.Net;
using System.Net.Sockets;

namespace LocalPort.Core.Tests.Fixtures;

public static class FreePort
{
    /// <summary>A loopback port that was free a moment ago (the kernel picked it).</summary>
    public static int Next()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
