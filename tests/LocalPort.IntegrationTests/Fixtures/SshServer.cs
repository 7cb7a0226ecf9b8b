using System.Diagnostics;
using System.Text;

namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>
/// A real OpenSSH server on 127.0.0.1:&lt;free port&gt;, private to the test run: its own host key,
/// a client key authorised for the current user, and a known_hosts file for the client, so no
/// test ever reads or writes ~/.ssh. Shared by every ssh test through <see cref="SshCollection"/>.
/// </summary>
public sealed class SshServer : IAsyncLifetime
{
    private const string Sshd = "/usr/sbin/sshd";
    private readonly TempDirectory _directory = new("lp-sshd");
    private readonly StringBuilder _log = new();
    private Process? _process;

    public int Port { get; private set; }
    public string User { get; } = Environment.UserName;
    public string ClientKey => _directory.Combine("client_ed25519");
    public string KnownHosts => _directory.Combine("known_hosts");
    public string Log { get { lock (_log) return _log.ToString(); } }

    public Task InitializeAsync()
    {
        var dir = _directory.Path;
        KeyGen(_directory.Combine("host_ed25519"), "localport-test-host");
        KeyGen(ClientKey, "localport-test-client");
        File.Copy(ClientKey + ".pub", _directory.Combine("authorized_keys"));
        File.SetUnixFileMode(_directory.Combine("authorized_keys"), UnixFileMode.UserRead | UnixFileMode.UserWrite);

        Port = FreePort.Next();
        // Known in advance, so accept-new never has to write and a wrong key would be noticed.
        var hostKey = File.ReadAllText(_directory.Combine("host_ed25519.pub")).Trim().Split(' ');
        File.WriteAllText(KnownHosts, $"[127.0.0.1]:{Port} {hostKey[0]} {hostKey[1]}\n");

        var config = _directory.Write("sshd_config", $"""
            Port {Port}
            ListenAddress 127.0.0.1
            HostKey {_directory.Combine("host_ed25519")}
            PidFile {_directory.Combine("sshd.pid")}
            AuthorizedKeysFile {_directory.Combine("authorized_keys")}
            StrictModes no
            UsePAM no
            PermitRootLogin prohibit-password
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            AllowTcpForwarding yes
            AllowStreamLocalForwarding yes
            X11Forwarding no
            PrintMotd no
            UseDNS no
            MaxStartups 100:30:200
            LogLevel INFO

            """);
        // Privilege separation needs this directory; a fresh container may not have it.
        if (!Directory.Exists("/run/sshd"))
            Directory.CreateDirectory("/run/sshd", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                                   UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

        var check = Run.Program(Sshd, ["-t", "-f", config]);
        if (check.ExitCode != 0) throw new InvalidOperationException($"sshd -t rejected the config: {check.Stderr}");

        var info = new ProcessStartInfo(Sshd)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = dir,
        };
        foreach (var argument in new[] { "-D", "-e", "-f", config }) info.ArgumentList.Add(argument);
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start sshd");
        _process.StandardInput.Close();
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var listening = Poll.Until(() => _process.HasExited
            || Traffic.ConnectAsync(Port, TimeSpan.FromSeconds(1)).GetAwaiter().GetResult() == ConnectOutcome.Accepted,
            TimeSpan.FromSeconds(15));
        if (_process.HasExited || !listening)
            throw new InvalidOperationException($"sshd did not come up on 127.0.0.1:{Port}:\n{Log}");
        return Task.CompletedTask;
    }

    /// <summary>The `connection:` block of an ssh service that reaches this server.</summary>
    public string ConnectionYaml(string indent = "      ") => string.Join("\n", new[]
    {
        "host: 127.0.0.1",
        $"port: {Port}",
        $"user: {User}",
        $"key_file: {ClientKey}",
        "strict_host_key_checking: accept-new",
        "options:",
        $"  UserKnownHostsFile: {KnownHosts}",
        "  GlobalKnownHostsFile: /dev/null",
        "  IdentitiesOnly: \"yes\"",
    }.Select(line => indent + line));

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }

    private static void KeyGen(string path, string comment)
    {
        var result = Run.Program("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
        if (result.ExitCode != 0) throw new InvalidOperationException($"ssh-keygen failed: {result.Stderr}");
    }

    public Task DisposeAsync()
    {
        if (_process is not null)
        {
            // sshd forks a process per connection: take the whole tree down.
            try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            _process.WaitForExit(5000);
            _process.Dispose();
        }
        _directory.Dispose();
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class SshCollection : ICollectionFixture<SshServer>
{
    public const string Name = "real sshd";
}
