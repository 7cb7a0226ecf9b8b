using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Config;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Forwarding;

/// <summary>ssh -L onto a Unix socket in a private directory; ready when that socket accepts.</summary>
public sealed class SshTunnel : ProcessTunnel
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);
    private readonly string _socketPath;

    private readonly ResourceLedger? _ledger;

    public SshTunnel(ServiceSpec service, SshConnection connection, string tunnelDirectory, string? logPath, ResourceLedger? ledger = null)
    {
        _ledger = ledger;
        LocalPortPaths.EnsurePrivateDirectory(tunnelDirectory);
        var safeName = new string(service.Name.Take(24).ToArray());
        _socketPath = Path.Combine(tunnelDirectory, $"{safeName}-{Guid.NewGuid().ToString("N")[..6]}.sock");

        // The password travels by environment to our askpass helper: never argv, never sshpass.
        var environment = connection.Password is null ? [] : SshAskpass.Environment(connection.Password, tunnelDirectory, ledger);
        Launch(new ProcessSpec(connection.SshPath ?? "ssh", TunnelCommands.Ssh(connection, service.RemotePort, _socketPath))
        {
            Environment = environment,
            LogPath = logPath,
            Ledger = ledger,
        });
        ledger?.TrackFile(_socketPath, $"ssh tunnel socket of {service.Name}");
        // However the process ends (stopped, killed, crashed), its socket goes with it: restarts leave no stale sockets.
        _ = Exited.ContinueWith(_ => DeleteSocket(), TaskScheduler.Default);
        _ = WaitUntilAccepting();
    }

    private async Task WaitUntilAccepting()
    {
        var endpoint = new UnixDomainSocketEndPoint(_socketPath);
        while (!Exited.IsCompleted && !Ready.IsCompleted)
        {
            if (File.Exists(_socketPath))
            {
                using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await probe.ConnectAsync(endpoint);
                    ReadySource.TrySetResult(endpoint);
                    return;
                }
                catch (SocketException)
                {
                }
            }
            await Task.Delay(PollInterval);
        }
    }

    public override async Task StopAsync(TimeSpan grace, bool killAfterGrace = true)
    {
        await base.StopAsync(grace, killAfterGrace);
        if (Exited.IsCompleted) DeleteSocket(); // else force-cleanup removes it with the process
    }

    private void DeleteSocket()
    {
        try
        {
            File.Delete(_socketPath);
            _ledger?.ForgetFile(_socketPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
