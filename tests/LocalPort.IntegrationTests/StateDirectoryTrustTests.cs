using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// LOCALPORT_HOME, its logs and its runtime directory are used only when they are ours and nobody else may write them
/// (issue 11 item 4): otherwise the CLI exits 2, names the directory and says how to fix it, and touches nothing.
/// </summary>
public sealed class StateDirectoryTrustTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly UnixFileMode Open = (UnixFileMode)Convert.ToInt32("777", 8);
    private static readonly UnixFileMode Private = (UnixFileMode)Convert.ToInt32("700", 8);

    private string State => Path.Combine(Home, "state");

    private string TcpConfig() => WriteConfig(Yaml.File(Yaml.Tcp("plain", FreePort.Next(), 9)));

    private Run.Result Refused(params string[] arguments)
    {
        var result = Invoke(arguments);
        Output.WriteLine($"localport {string.Join(' ', arguments)}: exit {result.ExitCode}\n{result.Stderr}");
        Assert.Equal(2, result.ExitCode);
        return result;
    }

    [Theory]
    [InlineData("")]
    [InlineData("logs")]
    [InlineData("run")]
    public void A_state_directory_owned_by_another_user_is_refused_by_name_and_left_as_it_was(string relative)
    {
        OtherUser.RequireRoot();
        var directory = Path.Combine(State, relative).TrimEnd('/');
        Directory.CreateDirectory(directory);
        // As the issue found it: 0777 and someone else's.
        File.SetUnixFileMode(directory, Open);
        OtherUser.Own(directory);
        var config = TcpConfig();

        foreach (var command in new[] { new[] { "run", "-c", config }, ["daemon", "start", "-c", config] })
        {
            var result = Refused(command);
            Assert.Contains($"{directory} belongs to uid {OtherUser.Uid}", result.Stderr);
            Assert.Contains($"chown 0 {directory}", result.Stderr);
        }

        var status = FileStatusOf(directory);
        Assert.Equal((OtherUser.Uid, Open), status);
        Assert.Empty(Directory.GetFileSystemEntries(directory));
        Assert.Equal(3, Invoke("status").ExitCode); // no daemon was left running
    }

    [Fact]
    public void A_LOCALPORT_HOME_of_ours_that_others_can_write_is_refused_with_the_chmod_that_fixes_it()
    {
        Directory.CreateDirectory(State);
        File.SetUnixFileMode(State, Open);
        var config = TcpConfig();

        var result = Refused("run", "-c", config);

        Assert.Contains($"{State} is writable by group and others (mode 0777)", result.Stderr);
        Assert.Contains($"chmod 700 {State}", result.Stderr);
        Assert.Equal(Open, File.GetUnixFileMode(State));
        Assert.Empty(Directory.GetFileSystemEntries(State));
    }

    [Fact]
    public void A_LOCALPORT_HOME_of_ours_that_others_can_only_read_is_made_0700_and_used()
    {
        Directory.CreateDirectory(State);
        File.SetUnixFileMode(State, (UnixFileMode)Convert.ToInt32("755", 8));
        var config = TcpConfig();

        var run = RunUntilRunning(config, ["plain"], Bound);

        Assert.Equal(Private, File.GetUnixFileMode(State));
        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(Bound));
    }

    /// <summary>Owner uid and permission bits, as `stat -c '%u %a'` prints them.</summary>
    private static (uint Owner, UnixFileMode Mode) FileStatusOf(string path)
    {
        var parts = Run.Program("/usr/bin/stat", ["-c", "%u %a", path]).Stdout.Trim().Split(' ');
        return (uint.Parse(parts[0]), (UnixFileMode)Convert.ToInt32(parts[1], 8));
    }
}
