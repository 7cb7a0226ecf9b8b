using System.Text.Json;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// The daemon as a new user meets it: real CLI, real daemon, real sshd, in an isolated $HOME and
/// $XDG_RUNTIME_DIR/$XDG_STATE_HOME (no LOCALPORT_HOME), reloads by atomic rename, kill -9.
/// </summary>
[Collection(SshCollection.Name)]
public sealed class DaemonTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);
    private string RuntimeDir => Path.Combine(Home, "xdg-run");
    private string StateDir => Path.Combine(Home, "xdg-state");
    private string Socket => Path.Combine(RuntimeDir, "localport", "localport.sock");

    private Dictionary<string, string?> Environment => new()
    {
        ["LOCALPORT_HOME"] = null,
        ["XDG_RUNTIME_DIR"] = RuntimeDir,
        ["XDG_STATE_HOME"] = StateDir,
    };

    private Run.Result Cli(params string[] arguments) => LocalPortProcess.Invoke(Home, WorkingDirectory, Environment, arguments);

    /// <summary>Writes the file next to its final place, then renames it over: how vim and IDEs save.</summary>
    private void SaveAtomically(string path, string yaml)
    {
        var temp = path + ".swp";
        File.WriteAllText(temp, yaml);
        File.Move(temp, path, overwrite: true);
    }

    private JsonElement Status()
    {
        var result = Cli("status", "-o", "json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        return JsonDocument.Parse(result.Stdout).RootElement;
    }

    private int? Pid(string service) => Status().GetProperty("services").EnumerateArray()
        .Where(s => s.GetProperty("name").GetString() == service)
        .Select(s => s.GetProperty("pid").ValueKind == JsonValueKind.Number ? s.GetProperty("pid").GetInt32() : (int?)null)
        .FirstOrDefault();

    private string[] ForwardSockets(string service) =>
        Directory.GetFiles(Path.Combine(RuntimeDir, "localport", "tunnels"), $"{service}-*.sock");

    /// <summary>
    /// ssh processes this test's LocalPort started: tagged in their environment by a LocalPort (never matched by
    /// command line) whose XDG_RUNTIME_DIR is this test's, so other tests' and other users' ssh are never counted or killed.
    /// </summary>
    private List<int> OurSshProcesses() => Directory.EnumerateDirectories("/proc")
        .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
        .Where(pid => pid > 0 && Native.Command(pid) == "ssh" && Tagged(pid))
        .ToList();

    private bool Tagged(int pid)
    {
        try
        {
            var environment = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
            return environment.Any(v => v.StartsWith("LOCALPORT_INSTANCE=")) &&
                   environment.Contains($"XDG_RUNTIME_DIR={RuntimeDir}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    [Fact]
    public async Task A_new_user_runs_the_daemon_through_reloads_a_broken_file_and_a_kill_9_and_nothing_is_left()
    {
        Assert.Empty(OurSshProcesses());
        var web = Own(new HttpServer());
        var echo = Own(new EchoServer());
        var ports = FreePort.Next(4);
        var config = Path.Combine(WorkingDirectory, "localport.yaml");
        string File3(params string[] services) => Yaml.File(services);
        var sshA = Yaml.Ssh("ssh-a", ports[0], echo.Port, ssh);
        var sshB = Yaml.Ssh("ssh-b", ports[1], web.Port, ssh);
        var tcp = Yaml.Tcp("tcp-c", ports[2], echo.Port);
        var added = Yaml.Tcp("tcp-added", ports[3], echo.Port);
        SaveAtomically(config, File3(sshA, sshB, tcp));
        int? daemonPid = null;
        try
        {
            var start = Cli("daemon", "start");
            Output.WriteLine($"daemon start: {start.ExitCode} {start.Stdout} {start.Stderr}");
            Assert.True(start.ExitCode == 0, start.Stderr);
            var status = Status();
            daemonPid = status.GetProperty("pid").GetInt32();
            foreach (var field in new[] { "pid", "config", "started_at", "services", "last_reload" })
                Assert.True(status.TryGetProperty(field, out _), $"status -o json lacks {field}");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Socket));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
                File.GetUnixFileMode(Path.Combine(RuntimeDir, "localport")));
            Assert.True(await Traffic.EchoEventuallyAsync(ports[0], Bound));
            Assert.True(await Traffic.EchoEventuallyAsync(ports[2], Bound));

            // Added by atomic rename: serves within 3 s.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            SaveAtomically(config, File3(sshA, sshB, tcp, added));
            // Target: within 3 s (debounce 300 ms + start); the bound leaves room for a loaded CI machine.
            Assert.True(await Traffic.EchoEventuallyAsync(ports[3], TimeSpan.FromSeconds(6)), "the added service did not serve within 6 s");
            Output.WriteLine($"added service served after {clock.ElapsedMilliseconds} ms");

            // Removed: its port closes and its forward goes; the ssh connection it shared with ssh-a stays.
            Poll.Assert(() => Pid("ssh-b") is not null, Bound, "ssh-b to run");
            var shared = Pid("ssh-b")!.Value;
            Assert.Equal(shared, Pid("ssh-a"));
            SaveAtomically(config, File3(sshA, tcp, added));
            Poll.Assert(() => Traffic.Refuses(ports[1]), Bound, "the removed service's port to close");
            Poll.Assert(() => ForwardSockets("ssh-b").Length == 0, Bound, "the removed service's forward socket to go");
            Assert.True(await Traffic.TryEchoAsync(ports[0], Bound), "ssh-a stopped serving when ssh-b was removed");
            Assert.Equal(shared, Pid("ssh-a"));

            // Broken: refused with the line number; old services keep serving; status shows the error.
            SaveAtomically(config, File3(sshA, tcp, added) + "  - name: broken\n    technology: teleport\n    local_port: 99999\n");
            var reload = Cli("daemon", "reload");
            Output.WriteLine($"daemon reload: {reload.ExitCode}\n{reload.Stderr}");
            Assert.Equal(2, reload.ExitCode);
            Assert.Matches(@"localport\.yaml:\d+:\d+", reload.Stderr);
            Assert.True(await Traffic.TryEchoAsync(ports[0], Bound), "ssh-a stopped serving after a broken file");
            Assert.True(await Traffic.TryEchoAsync(ports[3], Bound), "tcp-added stopped serving after a broken file");
            var daemonStatus = Cli("daemon", "status");
            Assert.Contains("FAILED", daemonStatus.Stdout);
            Assert.False(Status().GetProperty("last_reload").GetProperty("ok").GetBoolean());

            // kill -9 of the daemon, then start again: exactly one ssh, shared by the two ssh services.
            SaveAtomically(config, File3(sshA, sshB, tcp));
            Poll.Assert(() => Pid("ssh-b") is not null, Bound, "ssh-b to come back");
            Assert.True(Native.Signal(daemonPid.Value, 9));
            Poll.Assert(() => !Native.IsAlive(daemonPid.Value), Bound, "the daemon to die");
            var orphans = OurSshProcesses();
            Assert.True(orphans.Count == 1, $"ssh processes left running: {string.Join(" | ", orphans.Select(p => $"{p}: {File.ReadAllText($"/proc/{p}/cmdline").Replace('\0', ' ')}"))}"); // orphaned, still running
            var restart = Cli("daemon", "start");
            Assert.True(restart.ExitCode == 0, restart.Stderr);
            daemonPid = Status().GetProperty("pid").GetInt32();
            Poll.Assert(() => Pid("ssh-a") is not null && Pid("ssh-b") is not null, Bound, "both ssh services to run");
            Poll.Assert(() => OurSshProcesses().Count == 1, Bound, "exactly one ssh process, shared by both ssh services");
            Assert.Equal(Pid("ssh-a"), Pid("ssh-b"));
            Assert.True(await Traffic.EchoEventuallyAsync(ports[0], Bound));

            // Stop: nothing of ours is left.
            var stop = Cli("daemon", "stop");
            Output.WriteLine($"daemon stop: {stop.Stdout}");
            Assert.True(stop.ExitCode == 0, stop.Stderr);
            Assert.False(Native.IsAlive(daemonPid.Value));
            Assert.Empty(OurSshProcesses());
            Assert.All(ports, port => Assert.True(Traffic.Refuses(port), $"port {port} still accepts connections"));
            Assert.False(File.Exists(Socket));
            Assert.Equal(3, Cli("status").ExitCode);
        }
        finally
        {
            if (daemonPid is { } pid && Native.IsAlive(pid)) Native.Signal(pid, 9);
            foreach (var orphan in OurSshProcesses()) Native.Signal(orphan, 9);
        }
    }

    [Fact]
    public void Daemon_stop_returns_once_the_daemon_process_has_exited_and_status_then_exits_3()
    {
        var echo = Own(new EchoServer());
        var port = FreePort.Next();
        SaveAtomically(Path.Combine(WorkingDirectory, "localport.yaml"), Yaml.File(Yaml.Ssh("ssh-a", port, echo.Port, ssh)));
        int? daemonPid = null;
        try
        {
            var start = Cli("daemon", "start");
            Assert.True(start.ExitCode == 0, start.Stderr);
            daemonPid = Status().GetProperty("pid").GetInt32();
            Poll.Assert(() => Pid("ssh-a") is not null, Bound, "ssh-a to run");
            // It runs from /: watching the tree under it for appsettings.json cost seconds to undo at exit.
            var watches = Native.InotifyWatches(daemonPid.Value);
            Assert.True(watches <= 2, $"the daemon holds {watches} inotify watches; only its config file's directory is its business");

            var stop = Cli("daemon", "stop");
            var exited = Native.HasExited(daemonPid.Value);
            var status = Cli("daemon", "status");

            Output.WriteLine($"daemon stop: {stop.ExitCode} {stop.Stdout} {stop.Stderr}");
            Assert.True(stop.ExitCode == 0, stop.Stderr);
            Assert.True(exited, $"daemon stop returned while pid {daemonPid} was still {Native.State(daemonPid.Value)}");
            Assert.Equal(3, status.ExitCode);
            // Gone for good, lock included: a new daemon starts at once.
            var again = Cli("daemon", "start");
            Assert.True(again.ExitCode == 0, again.Stderr);
            daemonPid = Status().GetProperty("pid").GetInt32();
            Assert.Equal(0, Cli("daemon", "stop").ExitCode);
            Assert.True(Native.HasExited(daemonPid.Value));
        }
        finally
        {
            // Only what this test started: the daemon and its own children.
            if (daemonPid is { } pid && Native.IsAlive(pid))
            {
                var children = Native.Descendants(pid);
                Native.Signal(pid, 9);
                foreach (var child in children) Native.Signal(child, 9);
            }
        }
    }

    [Fact]
    public void Status_without_a_daemon_exits_3()
    {
        var result = Cli("status");
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("not running", result.Stderr);
    }
}
