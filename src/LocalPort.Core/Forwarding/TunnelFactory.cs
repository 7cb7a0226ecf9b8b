using LocalPort.Core.Config;

namespace LocalPort.Core.Forwarding;

/// <summary>Starts the real tunnels; tests substitute their own <see cref="ITunnelFactory"/>.</summary>
public sealed class TunnelFactory(LocalPortPaths paths) : ITunnelFactory
{
    public ITunnel Start(ServiceSpec service)
    {
        var logPath = Path.Combine(paths.LogDirectory, $"{service.Name}.log");
        return service.Connection switch
        {
            KubectlConnection kubectl => new KubectlTunnel(service, kubectl, logPath),
            SshConnection ssh => new SshTunnel(service, ssh, paths.TunnelDirectory, logPath),
            TcpConnection tcp => new TcpTunnel(service, tcp),
            _ => throw new ArgumentOutOfRangeException(nameof(service), service.Connection, "unknown connection type"),
        };
    }
}
