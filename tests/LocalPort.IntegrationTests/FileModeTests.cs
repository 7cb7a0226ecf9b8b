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
