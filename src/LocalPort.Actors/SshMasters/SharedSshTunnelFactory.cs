using Akka.Actor;
using LocalPort.Core;
using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Processes;

namespace LocalPort.Actors.SshMasters;

/// <summary>
/// ssh services that can share a master get a <see cref="SharedSshTunnel"/> on their group's master; everything else
/// (multiplex: false, their own Control* options, kubectl, tcp) is started by <paramref name="inner"/> as before.
/// </summary>
public sealed class SharedSshTunnelFactory(ITunnelFactory inner, IActorRef masters, SshMasterSettings settings, ResourceLedger? ledger) : ITunnelFactory
{
    /// <summary>The widest master sequence number we allow for when checking that a control path fits.</summary>
    private const int WidestSequence = 9_999_999;

    public ITunnel Start(ServiceSpec service)
    {
        if (service.Connection is not SshConnection ssh || SshGroup.Of(ssh) is not { } group
            || group.ControlPath(settings.ControlDirectory, WidestSequence) is null)
            return inner.Start(service);
        LocalPortPaths.EnsurePrivateDirectory(settings.ControlDirectory);
        var safeName = new string(service.Name.Take(24).ToArray());
        var socket = Path.Combine(settings.ControlDirectory, $"{safeName}-{Guid.NewGuid().ToString("N")[..6]}.sock");
        return new SharedSshTunnel(service, group, new SshForward(socket, ssh.RemoteHost, service.RemotePort), masters, ledger);
    }
}
