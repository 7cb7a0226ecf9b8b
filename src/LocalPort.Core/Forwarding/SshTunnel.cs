using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Config;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Forwarding;

/// <summary>ssh -L onto a Unix socket in a private directory; ready when that socket accepts.</summary>
public sealed class SshTunnel : ProcessTunnel
{
    private const string PasswordVariable = "LOCALPORT_SSH_SECRET";
    private readonly string _socketPath;

    private readonly ResourceLedger? _ledger;

    public SshTunnel(ServiceSpec service, SshConnection connection, string tunnelDirectory, string? logPath, ResourceLedger? ledger = null)
    {
        _ledger = ledger;
        LocalPortPaths.EnsurePrivateDirectory(tunnelDirectory);
        var safeName = new string(service.Name.Take(24).ToArray());
        _socketPath = Path.Combine(tunnelDirectory, $"{safeName}-{Guid.NewGuid().ToString("N")[..6]}.sock");

        var environment = PasswordEnvironment(connection, tunnelDirectory, ledger);
        Launch(new ProcessSpec(connection.SshPath ?? "ssh", TunnelCommands.Ssh(connection, service.RemotePort, _socketPath))
        {
            Environment = environment,
            LogPath = logPath,
            Ledger = ledger,
        });
        ledger?.TrackFile(_socketPath, $"ssh tunnel socket of {service.Name}");
        // However the process ends (stopped, killed, crashed), its socket goes with it: restarts leave no stale sockets.
        _ = Exited.ContinueWith(_ => DeleteSocket(), TaskScheduler.Default);
        _ = WaitUntilAccepting(_socketPath);
    }

    /// <summary>
    /// The password travels by environment to our askpass helper: never argv, never sshpass. Empty without a password.
    /// </summary>
    internal static Dictionary<string, string> PasswordEnvironment(SshConnection connection, string directory, ResourceLedger? ledger)
    {
        var environment = new Dictionary<string, string>();
        if (connection.Password is null) return environment;
        environment["SSH_ASKPASS"] = AskpassHelper(directory, ledger);
        environment["SSH_ASKPASS_REQUIRE"] = "force";
        environment["DISPLAY"] = Environment.GetEnvironmentVariable("DISPLAY") ?? ":0";
        environment[PasswordVariable] = connection.Password.Reveal();
        return environment;
    }

    private static string AskpassHelper(string directory, ResourceLedger? ledger)
    {
        var path = Path.Combine(directory, "askpass.sh");
        ledger?.TrackFile(path, "ssh askpass helper");
        if (!File.Exists(path))
        {
            // Owner-only from creation (the one file here that must be executable), whatever the umask.
            const UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            using (var writer = new StreamWriter(new FileStream(path, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = mode })))
                writer.Write($"#!/bin/sh\nprintf '%s\\n' \"${PasswordVariable}\"\n");
            File.SetUnixFileMode(path, mode);
        }
        return path;
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
