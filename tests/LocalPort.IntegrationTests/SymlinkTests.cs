using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// Links planted where LocalPort keeps its state (another local user's trick, or an accident): their targets are
/// never truncated, appended to or chmod'ed.
/// </summary>
[Collection(SshCollection.Name)]
public sealed class SymlinkTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private const string Precious = "not LocalPort's\n";

    private string State => Path.Combine(Home, "state");

    private string Target(string name)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, Precious);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return path;
    }

    private static void AssertUntouched(string target)
    {
        Assert.Equal(Precious, File.ReadAllText(target));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(target));
    }

    [Fact]
    public void A_linked_pid_file_is_replaced_and_a_linked_service_log_fails_the_service_and_neither_target_is_touched()
    {
        var echo = Own(new EchoServer());
        var ports = FreePort.Next(2);
        Directory.CreateDirectory(Path.Combine(State, "run"));
        Directory.CreateDirectory(Path.Combine(State, "logs"));
        var pidTarget = Target("pid-target");
        var logTarget = Target("log-target");
        File.CreateSymbolicLink(Path.Combine(State, "run", "localport.pid"), pidTarget);
        File.CreateSymbolicLink(Path.Combine(State, "logs", "linked.log"), logTarget);
        var path = WriteConfig(Yaml.File(Yaml.Ssh("linked", ports[0], echo.Port, ssh), Yaml.Tcp("plain", ports[1], echo.Port)));

        var run = RunUntilRunning(path, ["plain"], TimeSpan.FromSeconds(30));
        var failing = run.WaitForStatus(s => s.Name == "linked" && s.LastError is not null, TimeSpan.FromSeconds(30));

        Output.WriteLine(failing.Raw);
        Assert.Contains("is a symbolic link", failing.LastError);
        var pidFile = new FileInfo(Path.Combine(State, "run", "localport.pid"));
        Assert.Null(pidFile.LinkTarget);
        Assert.StartsWith($"{run.Pid} ", File.ReadAllText(pidFile.FullName));
        AssertUntouched(pidTarget);
        AssertUntouched(logTarget);

        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(TimeSpan.FromSeconds(30)));
        AssertUntouched(pidTarget);
        AssertUntouched(logTarget);
    }

    [Fact]
    public void A_linked_runtime_directory_is_refused_with_its_name_and_its_target_keeps_its_mode()
    {
        var elsewhere = Directory.CreateDirectory(Path.Combine(Root, "elsewhere")).FullName;
        File.SetUnixFileMode(elsewhere, (UnixFileMode)Convert.ToInt32("755", 8));
        Directory.CreateDirectory(State);
        Directory.CreateSymbolicLink(Path.Combine(State, "run"), elsewhere);
        var path = WriteConfig(Yaml.File(Yaml.Tcp("plain", FreePort.Next(), 9)));

        var run = Start("run", "-c", path);
        var code = run.WaitForExit(TimeSpan.FromSeconds(30));

        Output.WriteLine(string.Join('\n', run.Stderr));
        Assert.NotEqual(0, code);
        Assert.Contains(run.Stderr, line => line.Contains("is a symbolic link", StringComparison.Ordinal));
        Assert.Equal((UnixFileMode)Convert.ToInt32("755", 8), File.GetUnixFileMode(elsewhere));
        Assert.Empty(Directory.GetFileSystemEntries(elsewhere));
    }
}
