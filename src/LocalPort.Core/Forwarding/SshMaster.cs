using LocalPort.Core.Config;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Forwarding;

/// <summary>
/// One OpenSSH master connection (ControlMaster=yes, -N) with its control socket in the private tunnel directory.
/// It carries no forward of its own; <see cref="SshControl"/> adds and removes them. Ready once the control socket
/// accepts, which ssh creates only after authentication: a ready master is one handshake already paid for.
/// </summary>
public sealed class SshMaster : ProcessTunnel
{
    private readonly ResourceLedger? _ledger;
    private IReadOnlyList<string> _carries = [];

    public SshMaster(SshConnection connection, string controlPath, string helperDirectory, string? logPath, ResourceLedger? ledger)
    {
        _ledger = ledger;
        ControlPath = controlPath;
        LocalPortPaths.EnsurePrivateDirectory(Path.GetDirectoryName(controlPath)!);
        // A killed master (of an earlier run, reaped) leaves its socket; ssh would then run without one.
        File.Delete(controlPath);
        Launch(new ProcessSpec(connection.SshPath ?? "ssh", TunnelCommands.SshMaster(connection, controlPath))
        {
            // The password travels by environment to our askpass helper: never argv, never sshpass.
            Environment = connection.Password is null ? [] : SshAskpass.Environment(connection.Password, helperDirectory, ledger),
            LogPath = logPath,
            Ledger = ledger,
        });
        ledger?.TrackFile(controlPath, "ssh control socket");
        // ssh leaves its control socket behind when it is killed: it goes with the process, however that ends.
        _ = Exited.ContinueWith(_ => DeleteControlSocket(), TaskScheduler.Default);
        _ = WaitUntilAccepting(controlPath);
    }

    public string ControlPath { get; }

    /// <summary>ssh goes on without a control socket it cannot create: no forward could ever be added, so it fails now.</summary>
    protected override void OnLine(string line)
    {
        if (!line.Contains("disabling multiplexing", StringComparison.Ordinal)) return;
        ReadySource.TrySetException(new TunnelStartException($"ssh could not open its control socket: {line}"));
        Child?.Kill();
    }

    /// <summary>The services whose forwards it carries now (kept by its owner; read by chaos and messages).</summary>
    public IReadOnlyList<string> Carries
    {
        get => Volatile.Read(ref _carries);
        set => Volatile.Write(ref _carries, value);
    }

    /// <summary>An exit code that says someone signalled it (kill -9, the OOM killer), not that ssh gave up by itself (255).</summary>
    public static bool EndedBySignal(int exitCode) => exitCode is > 128 and < 255;

    public override async Task StopAsync(TimeSpan grace, bool killAfterGrace = true)
    {
        await base.StopAsync(grace, killAfterGrace);
        if (Exited.IsCompleted) DeleteControlSocket();
    }

    private void DeleteControlSocket()
    {
        try
        {
            File.Delete(ControlPath);
            _ledger?.ForgetFile(ControlPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
