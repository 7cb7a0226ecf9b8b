using LocalPort.Core.Config;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Forwarding;

/// <summary>
/// How ssh gets a configured password: through the environment to a small owner-only askpass helper, never argv,
/// never sshpass. Shared by the tunnel and `localport ssh test`.
/// </summary>
public static class SshAskpass
{
    private const string PasswordVariable = "LOCALPORT_SSH_SECRET";

    /// <summary>The variables that make ssh ask our helper (written into <paramref name="directory"/>) for the password.</summary>
    public static Dictionary<string, string> Environment(Secret password, string directory, ResourceLedger? ledger = null) => new()
    {
        ["SSH_ASKPASS"] = Helper(directory, ledger),
        ["SSH_ASKPASS_REQUIRE"] = "force",
        ["DISPLAY"] = System.Environment.GetEnvironmentVariable("DISPLAY") ?? ":0",
        [PasswordVariable] = password.Reveal(),
    };

    private static string Helper(string directory, ResourceLedger? ledger)
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
}
