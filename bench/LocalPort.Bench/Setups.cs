using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.Bench;

/// <summary>localport.yaml text and the peers' command lines, in one place so the report can quote them.</summary>
public static class Setups
{
    public sealed record Service(string Name, string Technology, int LocalPort, int UpstreamPort);

    /// <summary>A localport.yaml with the given health check and the default restart policy (what users run).</summary>
    /// <param name="sshConnection">One more key of every ssh service's connection (standby: true, multiplex: false).</param>
    public static string LocalPortYaml(IEnumerable<Service> services, SshServer? ssh, string healthCheck, string? sshConnection = null) =>
        "version: \"1.0\"\n" +
        "defaults:\n" +
        $"  health_check: {healthCheck}\n" +
        "services:\n" +
        string.Concat(services.Select(s => s.Technology == "ssh"
            ? $"""
                - name: {s.Name}
                  technology: ssh
                  local_port: {s.LocalPort}
                  remote_port: {s.UpstreamPort}
                  connection:
                    remote_host: 127.0.0.1
              {ssh!.ConnectionYaml()}
              {(sshConnection is null ? "" : "      " + sshConnection)}

              """
            : $"""
                - name: {s.Name}
                  technology: tcp
                  local_port: {s.LocalPort}
                  remote_port: {s.UpstreamPort}
                  connection: {"{"} host: 127.0.0.1 {"}"}

              """));

    public const string QuietCheck = "{ type: tcp, interval: 60s, timeout: 2s, failure_threshold: 3 }";
    public const string IdleCheck = "{ type: tcp, interval: 5s, timeout: 2s, failure_threshold: 2 }";

    /// <summary>The issue-10 memory setup: a tcp check every second on every service.</summary>
    public const string SecondCheck = "{ type: tcp, interval: 1s, timeout: 1s }";

    /// <summary>Checks so rare that none runs in the idle window: what the supervisor costs by itself.</summary>
    public const string RareCheck = "{ type: tcp, interval: 1h, timeout: 2s, failure_threshold: 2 }";

    /// <summary>HTTP through the tunnel every 500 ms: real traffic, so a hung tunnel fails it.</summary>
    public static string FastHttpCheck(int localPort) =>
        $"{{ type: http, interval: 500ms, timeout: 500ms, failure_threshold: 2, config: {{ url: \"http://127.0.0.1:{localPort}/\" }} }}";

    /// <summary>autossh's best settings for fast recovery, as environment variables.</summary>
    public static readonly IReadOnlyDictionary<string, string?> AutosshEnvironment = new Dictionary<string, string?>
    {
        ["AUTOSSH_GATETIME"] = "0",   // a quick first exit is retried, not fatal
        ["AUTOSSH_POLL"] = "1",       // shortest poll (and restart back-off cap)
        ["AUTOSSH_FIRST_POLL"] = "1",
    };

    public const string AutosshSettings =
        "`autossh -M 0` with AUTOSSH_GATETIME=0, AUTOSSH_POLL=1, AUTOSSH_FIRST_POLL=1, and ssh -N -T -o ServerAliveInterval=1 " +
        "-o ServerAliveCountMax=1 -o ExitOnForwardFailure=yes -o BatchMode=yes";

    /// <summary>ssh options common to autossh and plain ssh -L: the bench sshd's key and known_hosts, no prompts.</summary>
    private static IEnumerable<string> SshClientOptions(SshServer ssh) =>
    [
        "-N", "-T",
        "-o", "BatchMode=yes",
        "-o", "ExitOnForwardFailure=yes",
        "-o", "ConnectTimeout=10",
        "-o", $"UserKnownHostsFile={ssh.KnownHosts}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes",
        "-i", ssh.ClientKey,
        "-p", ssh.Port.ToString(),
    ];

    /// <summary>`autossh -M MONITOR …` arguments (MONITOR 0 = no monitor port, ssh's keepalives only).</summary>
    public static IReadOnlyList<string> Autossh(SshServer ssh, int localPort, int upstreamPort, string monitor = "0") =>
    [
        "-M", monitor,
        .. SshClientOptions(ssh),
        "-o", "ServerAliveInterval=1",
        "-o", "ServerAliveCountMax=1",
        "-L", $"127.0.0.1:{localPort}:127.0.0.1:{upstreamPort}",
        $"{ssh.User}@127.0.0.1",
    ];

    /// <summary>Plain `ssh -L` for the relay figure (default cipher).</summary>
    public static IReadOnlyList<string> SshForward(SshServer ssh, IEnumerable<(int Local, int Upstream)> forwards) =>
    [
        .. SshClientOptions(ssh),
        .. forwards.SelectMany(f => new[] { "-L", $"127.0.0.1:{f.Local}:127.0.0.1:{f.Upstream}" }),
        $"{ssh.User}@127.0.0.1",
    ];

    /// <summary>socat with 128 KiB buffers, a process per connection, Nagle off on both sides.</summary>
    public static IReadOnlyList<string> Socat(int localPort, int upstreamPort) =>
    [
        "-b", "131072",
        $"TCP-LISTEN:{localPort},bind=127.0.0.1,reuseaddr,fork,nodelay",
        $"TCP:127.0.0.1:{upstreamPort},nodelay",
    ];

    public const string SocatSettings = "`socat -b 131072 TCP-LISTEN:P,bind=127.0.0.1,reuseaddr,fork,nodelay TCP:127.0.0.1:U,nodelay`";

    /// <summary>One shell line (for the peer script).</summary>
    public static string Shell(string program, IEnumerable<string> arguments) =>
        program + " " + string.Join(' ', arguments.Select(a => a.Any(c => " '\"$;&|<>()".Contains(c)) ? $"'{a.Replace("'", "'\\''")}'" : a));
}
