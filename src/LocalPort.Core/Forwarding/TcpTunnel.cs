using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Config;

namespace LocalPort.Core.Forwarding;

/// <summary>The tcp technology: no child process, the relay goes straight to the upstream.</summary>
public sealed class TcpTunnel : ITunnel
{
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TcpTunnel(ServiceSpec service, TcpConnection connection)
    {
        Ready = Resolve(connection.Host, service.RemotePort);
    }

    public Task<EndPoint> Ready { get; }
    public Task<int> Exited => _exited.Task;
    public int? Pid => null;
    public bool IsSuspended => false;

    private static async Task<EndPoint> Resolve(string host, int port)
    {
        if (IPAddress.TryParse(host, out var address)) return new IPEndPoint(address, port);
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return new IPEndPoint(IPAddress.Loopback, port);
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host);
            return new IPEndPoint(addresses.First(), port);
        }
        catch (SocketException e)
        {
            throw new TunnelStartException($"cannot resolve upstream host '{host}': {e.Message}");
        }
    }

    public string DescribeFailure() => Ready.IsFaulted ? Ready.Exception!.InnerException!.Message : "upstream not answering";

    public Task StopAsync(TimeSpan grace, bool killAfterGrace = true)
    {
        _exited.TrySetResult(0);
        return Task.CompletedTask;
    }

    public void Kill() => _exited.TrySetResult(0);
}
