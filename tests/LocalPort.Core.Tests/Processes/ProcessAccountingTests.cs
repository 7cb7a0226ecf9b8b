using System.Diagnostics;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Tests.Processes;

public sealed class ProcessAccountingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lp-proc-").FullName;
    private readonly List<Process> _foreign = [];

    [Fact]
    public void A_child_stays_in_the_ledger_until_it_has_exited()
    {
        var ledger = new ResourceLedger();
        using var child = ChildProcess.Start(new ProcessSpec("sleep", ["30"]) { Ledger = ledger });
        Assert.Contains(ledger.Entries, e => e.Kind == ResourceKind.Process && e.Id == child.Pid.ToString());

        child.Kill();

        Assert.True(child.Exited.Wait(TimeSpan.FromSeconds(5)));
        Assert.True(SpinWait.SpinUntil(() => ledger.IsEmpty, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Orphans_of_an_earlier_run_are_reaped_and_foreign_processes_are_left_alone()
    {
        var file = Path.Combine(_dir, "children.json");
        var ledger = new ResourceLedger();
        var orphan = ChildProcess.Start(new ProcessSpec("sleep", ["30"]) { Ledger = ledger });
        var foreign = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        _foreign.Add(foreign);
        ChildrenFile.Write(file, ledger.Children);
        // A foreign process that happens to sit at a recorded pid must not be touched: fake its record.
        var records = ChildrenFile.Read(file).Append(new RecordedChild(foreign.Id, Posix.StartTicks(foreign.Id), ChildProcess.InstanceId, "not ours"));
        File.WriteAllText(file, System.Text.Json.JsonSerializer.Serialize(records));

        var reaped = ChildrenFile.ReapOrphans(file);

        Assert.Equal([orphan.Pid], reaped.Select(r => r.Pid));
        Assert.True(orphan.Exited.Wait(TimeSpan.FromSeconds(5)));
        Assert.False(foreign.HasExited);
    }

    [Fact]
    public void A_reused_pid_is_not_reaped()
    {
        var file = Path.Combine(_dir, "children.json");
        var foreign = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        _foreign.Add(foreign);
        File.WriteAllText(file, System.Text.Json.JsonSerializer.Serialize(new[]
        {
            new RecordedChild(foreign.Id, Posix.StartTicks(foreign.Id) - 1, ChildProcess.InstanceId, "older process at this pid"),
        }));

        Assert.Empty(ChildrenFile.ReapOrphans(file));
        Assert.False(foreign.HasExited);
    }

    [Fact]
    public void The_children_file_is_private()
    {
        var file = Path.Combine(_dir, "children.json");
        ChildrenFile.Write(file, []);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }

    [Fact]
    public void Service_logs_rotate_by_size_and_stay_private()
    {
        var path = Path.Combine(_dir, "svc.log");
        var previous = ServiceLog.MaxBytes;
        ServiceLog.MaxBytes = 1024;
        try
        {
            using (var log = ServiceLog.Open(path))
                for (var i = 0; i < 100; i++) log.WriteLine(new string('x', 50));
        }
        finally
        {
            ServiceLog.MaxBytes = previous;
        }
        Assert.True(File.Exists(path + ".1"));
        Assert.True(new FileInfo(path).Length < 1024 + 100);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    public void Dispose()
    {
        foreach (var p in _foreign)
        {
            if (!p.HasExited) p.Kill();
            p.WaitForExit(2000);
            p.Dispose();
        }
        Directory.Delete(_dir, recursive: true);
    }
}
