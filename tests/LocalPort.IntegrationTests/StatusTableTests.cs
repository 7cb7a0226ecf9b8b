using System.Text.Json;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// `status`'s table shows an error while it matters: once the service runs again the table drops it, and JSON keeps it
/// as `last_error` for whoever wants the history.
/// </summary>
[Collection(SshCollection.Name)]
public sealed class StatusTableTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public void After_a_recovery_the_table_drops_the_old_error_and_json_keeps_it()
    {
        var echo = Own(new EchoServer());
        var port = FreePort.Next();
        var run = RunUntilRunning(WriteConfig(Yaml.File(Yaml.Ssh("db", port, echo.Port, ssh))), ["db"], Bound);
        var first = run.Latest("db")!.Pid!.Value;

        var from = run.StdoutCount;
        Assert.True(Native.Signal(first, 9));
        var back = run.WaitForStatus(s => s.Name == "db" && s.IsRunning && s.Pid is { } pid && pid != first, Bound, from);
        Assert.NotNull(back.LastError);

        var json = Invoke("status", "-o", "json");
        Assert.True(json.ExitCode == 0, json.Stderr);
        var db = JsonDocument.Parse(json.Stdout).RootElement.GetProperty("services").EnumerateArray().Single();
        Assert.Contains("exited with code", db.GetProperty("last_error").GetString());

        var table = LocalPortProcess.InvokeOnTerminal(Home, WorkingDirectory, "status");
        Output.WriteLine(table.Stdout);
        Assert.True(table.ExitCode == 0, table.Stderr);
        Assert.Contains("│ db", table.Stdout); // the table, not status lines
        Assert.Contains("running", table.Stdout);
        Assert.DoesNotContain("exited with code", table.Stdout);
    }
}
