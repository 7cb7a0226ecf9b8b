using System.ComponentModel;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Tests.Processes;

/// <summary>
/// Children run in a session of their own (through setsid(1), exec'd in place), so a terminal's Ctrl-C to our
/// process group cannot reach them; everything else about a child stays as it was.
/// </summary>
public sealed class OwnSessionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    /// <summary>Process group and session from /proc/PID/stat (fields 5 and 6).</summary>
    private static (int Group, int Session) GroupAndSession(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (int.Parse(fields[2]), int.Parse(fields[3]));
    }

    private static string Command(int pid) => File.ReadAllText($"/proc/{pid}/comm").Trim();

    [Fact]
    public void Setsid_is_found_by_absolute_path_on_linux()
    {
        Assert.NotNull(OwnSession.Setsid);
        Assert.True(Path.IsPathRooted(OwnSession.Setsid));
    }

    [Fact]
    public async Task A_child_leads_its_own_session_under_the_pid_and_start_time_we_recorded()
    {
        var ledger = new ResourceLedger();
        using var child = ChildProcess.Start(new ProcessSpec("sleep", ["30"]) { Ledger = ledger });

        // setsid(1) execs in place: the pid .NET gave us becomes sleep itself, not a parent of it.
        Assert.True(SpinWait.SpinUntil(() => Command(child.Pid) == "sleep", Bound), $"pid {child.Pid} is {Command(child.Pid)}");
        Assert.Equal((child.Pid, child.Pid), GroupAndSession(child.Pid));
        Assert.NotEqual(GroupAndSession(Environment.ProcessId).Group, child.Pid);
        Assert.Empty(Posix.Children(child.Pid));
        Assert.Equal(child.StartTicks, Posix.StartTicks(child.Pid));
        Assert.True(Posix.HasEnvironment(child.Pid, ChildProcess.InstanceVariable, ChildProcess.InstanceId));
        Assert.Contains(ledger.Entries, e => e.Kind == ResourceKind.Process && e.Id == child.Pid.ToString());

        child.Kill();

        await child.Exited.WaitAsync(Bound);
        Assert.True(SpinWait.SpinUntil(() => ledger.IsEmpty, Bound));
    }

    [Fact]
    public async Task Output_and_exit_code_are_the_programs()
    {
        var lines = new List<string>();
        using var child = ChildProcess.Start(new ProcessSpec("sh", ["-c", "echo out; echo err >&2; exit 3"])
        {
            OnLine = line => { lock (lines) lines.Add(line); },
        });

        Assert.Equal(3, await child.Exited.WaitAsync(Bound));
        lock (lines) Assert.Equal(["err", "out"], lines.Order());
    }

    [Fact]
    public async Task Stop_sigterms_the_whole_tree_and_nothing_outlives_it()
    {
        using var child = ChildProcess.Start(new ProcessSpec("sh", ["-c", "sleep 30 & wait"]));
        Assert.True(SpinWait.SpinUntil(() => Posix.Children(child.Pid).Count == 1, Bound));
        var grandchild = Posix.Children(child.Pid)[0];
        var grandchildStart = Posix.StartTicks(grandchild);

        await child.StopAsync(TimeSpan.FromSeconds(2)).WaitAsync(Bound);

        Assert.True(child.Exited.IsCompleted);
        Assert.True(SpinWait.SpinUntil(() => !Posix.IsAlive(grandchild, grandchildStart), Bound));
    }

    [Fact]
    public async Task Kill_sigkills_the_whole_tree_even_where_sigterm_is_ignored()
    {
        using var child = ChildProcess.Start(new ProcessSpec("sh", ["-c", "trap '' TERM; sleep 30 & wait"]));
        Assert.True(SpinWait.SpinUntil(() => Posix.Children(child.Pid).Count == 1, Bound));
        var grandchild = Posix.Children(child.Pid)[0];
        var grandchildStart = Posix.StartTicks(grandchild);

        child.Kill();

        Assert.Equal(137, await child.Exited.WaitAsync(Bound));
        Assert.True(SpinWait.SpinUntil(() => !Posix.IsAlive(grandchild, grandchildStart), Bound));
    }

    [Theory]
    [InlineData("/nonexistent/localport-test-program")]
    [InlineData("localport-test-program-not-on-path")]
    public void A_missing_program_fails_the_start_instead_of_exiting(string program)
    {
        Assert.Throws<Win32Exception>(() => ChildProcess.Start(new ProcessSpec(program, [])));
    }

    [Fact]
    public void A_file_that_is_not_executable_fails_the_start()
    {
        var file = Path.GetTempFileName();
        try
        {
            Assert.Throws<Win32Exception>(() => ChildProcess.Start(new ProcessSpec(file, [])));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
