using LocalPort.Core.Config;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Forwarding;

/// <summary>Starts the real tunnels; tests substitute their own <see cref="ITunnelFactory"/>.</summary>
public sealed class TunnelFactory(LocalPortPaths paths, ResourceLedger ledger) : ITunnelFactory
{
    public ITunnel Start(ServiceSpec service)
    {
        var logPath = Path.Combine(paths.LogDirectory, $"{service.Name}.log");
        return service.Connection switch
        {
            KubectlConnection kubectl => new KubectlTunnel(service, kubectl, logPath, ledger),
            SshConnection ssh => new SshTunnel(service, ssh, paths.TunnelDirectory, logPath, ledger),
            TcpConnection tcp => new TcpTunnel(service, tcp),
            _ => throw new ArgumentOutOfRangeException(nameof(service), service.Connection, "unknown connection type"),
        };
    }
}
