using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>Everything LocalPort writes below LOCALPORT_HOME is private (0600 files, 0700 directories) whatever the umask.</summary>
[Collection(SshCollection.Name)]
public sealed class FileModeTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = PrivateFile | UnixFileMode.UserExecute;

    [Fact]
    public async Task Under_umask_000_every_file_is_0600_and_every_directory_0700_while_running_and_after_sigterm()
    {
        var echo = Own(new EchoServer());
        var ports = FreePort.Next(2);
        var path = WriteConfig(Yaml.File(
            Yaml.Tcp("echo", ports[0], echo.Port),
            Yaml.Ssh("echo-via-ssh", ports[1], echo.Port, ssh)));
        var state = Path.Combine(Home, "state");

        var run = Own(LocalPortProcess.StartUnderUmask("000", Home, WorkingDirectory, "run", "-c", path));
        foreach (var name in new[] { "echo", "echo-via-ssh" })
            run.WaitForStatus(s => s.Name == name && s.IsRunning, TimeSpan.FromSeconds(30));
        Assert.True(await Traffic.EchoEventuallyAsync(ports[0], TimeSpan.FromSeconds(10)), run.Describe());
        Assert.True(await Traffic.EchoEventuallyAsync(ports[1], TimeSpan.FromSeconds(10)), run.Describe());
        // The daemon log has lines in it, so the sink has opened it.
        Poll.Assert(() => File.Exists(Path.Combine(state, "logs", "localport.log")) && new FileInfo(Path.Combine(state, "logs", "localport.log")).Length > 0,
            TimeSpan.FromSeconds(10), "logs/localport.log written");
        var whileRunning = Offenders(state);

        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.True(run.WaitForExit(TimeSpan.FromSeconds(40)) == 0, run.Describe());
        var afterStop = Offenders(state);

        var entries = Directory.EnumerateFileSystemEntries(state, "*", SearchOption.AllDirectories).Select(e => Path.GetRelativePath(state, e)).Order().ToList();
        Output.WriteLine($"below LOCALPORT_HOME after stop: {string.Join(", ", entries)}");
        Assert.Contains(Path.Combine("logs", "localport.log"), entries);
        Assert.Contains(Path.Combine("logs", "echo-via-ssh.log"), entries);
        Assert.Contains("last-shutdown.json", entries);
        Assert.True(whileRunning.Count == 0, "while running: " + string.Join("; ", whileRunning));
        Assert.True(afterStop.Count == 0, "after stop: " + string.Join("; ", afterStop));
    }

    /// <summary>
    /// Rotation under umask 000: the logs a long earlier run left are full (10 MiB, the size limit, and 0644 as an older
    /// version or a copy left them), so this run rotates both at start: the daemon log's sink opens localport_001.log and
    /// the service log moves to .log.1. Seeding the size is the only stand-in; producing 10 MiB of real log lines would
    /// take minutes and change nothing about the rotation itself.
    /// </summary>
    [Fact]
    public async Task Under_umask_000_rotated_daemon_and_service_logs_are_0600()
    {
        const int limit = 10 * 1024 * 1024;
        var echo = Own(new EchoServer());
        var port = FreePort.Next();
        var path = WriteConfig(Yaml.File(Yaml.Ssh("rotated", port, echo.Port, ssh)));
        var state = Path.Combine(Home, "state");
        var logs = Directory.CreateDirectory(Path.Combine(state, "logs")).FullName;
        foreach (var name in new[] { "localport.log", "rotated.log" })
        {
            var full = Path.Combine(logs, name);
            using (var file = File.Create(full)) file.SetLength(limit);
            File.SetUnixFileMode(full, (UnixFileMode)Convert.ToInt32("644", 8));
        }

        var run = Own(LocalPortProcess.StartUnderUmask("000", Home, WorkingDirectory, "run", "-c", path));
        run.WaitForStatus(s => s.Name == "rotated" && s.IsRunning, TimeSpan.FromSeconds(30));
        Assert.True(await Traffic.EchoEventuallyAsync(port, TimeSpan.FromSeconds(10)), run.Describe());
        var rolledDaemonLog = Path.Combine(logs, "localport_001.log");
        Poll.Assert(() => File.Exists(rolledDaemonLog) && new FileInfo(rolledDaemonLog).Length > 0, TimeSpan.FromSeconds(10),
            "the daemon log to roll over to localport_001.log");
        var rotatedServiceLog = Path.Combine(logs, "rotated.log.1");
        Assert.Equal(limit, new FileInfo(rotatedServiceLog).Length);
        Poll.Assert(() => File.ReadAllText(Path.Combine(logs, "rotated.log")).Contains("started pid"), TimeSpan.FromSeconds(10),
            "the service's new log to be written");
        var whileRunning = Offenders(state);

        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.True(run.WaitForExit(TimeSpan.FromSeconds(40)) == 0, run.Describe());

        Output.WriteLine($"logs: {string.Join(", ", Directory.EnumerateFiles(logs).Select(Path.GetFileName).Order())}");
        Assert.True(whileRunning.Count == 0, "while running: " + string.Join("; ", whileRunning));
        var afterStop = Offenders(state);
        Assert.True(afterStop.Count == 0, "after stop: " + string.Join("; ", afterStop));
    }

    /// <summary>LOCALPORT_HOME itself and every entry below it whose mode is not private, as "path mode".</summary>
    private static List<string> Offenders(string root)
    {
        var offenders = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Prepend(root))
        {
            var isDirectory = Directory.Exists(entry) && !new FileInfo(entry).Attributes.HasFlag(FileAttributes.ReparsePoint);
            var expected = isDirectory ? PrivateDirectory : PrivateFile;
            UnixFileMode mode;
            try { mode = File.GetUnixFileMode(entry); }
            catch (FileNotFoundException) { continue; } // gone between listing and looking (a socket at shutdown)
            if (mode != expected)
                offenders.Add($"{entry} is {Convert.ToString((int)mode, 8)}, expected {Convert.ToString((int)expected, 8)}");
        }
        return offenders;
    }
}
