using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests.Recovery;

/// <summary>
/// Issue 10, done-when 6: a restart policy of zeros on a service that can never start (its port is taken) must neither
/// be accepted silently into a hot loop nor hold shutdown hostage. The only test here that sets a restart_policy:
/// the degenerate input is the point.
/// </summary>
public sealed class DegeneratePolicyTests(ITestOutputHelper output) : Scenario(output)
{
    private const string Service = "taken";
    private static readonly string[] PolicyFields = ["initial_delay", "max_delay", "max_attempts"];
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);
    private const int MostFailures = 50;

    /// <summary>
    /// Either outcome the issue accepts, each checked in full: `config validate` exits 2 naming the field (and `run`
    /// refuses the file too), or `run` fails at most 50 times in 5 s, crashes nothing, and exits 0 within 2 s of SIGTERM.
    /// </summary>
    [Fact]
    public void A_zero_restart_policy_on_a_taken_port_is_refused_by_validate_or_cannot_hot_loop_or_hold_shutdown()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var upstream = Own(new EchoServer());
        var path = WriteConfig($"""
            version: "1.0"
            services:
              - name: {Service}
                technology: tcp
                local_port: {port}
                remote_port: {upstream.Port}
                connection:
                  host: 127.0.0.1
                restart_policy:
                  initial_delay: 0
                  max_delay: 0
                  max_attempts: 0
            """);

        var validate = Invoke("config", "validate", "-c", path);
        Output.WriteLine($"$ localport config validate -c {path} -> exit {validate.ExitCode}\n{validate.Stdout}\n{validate.Stderr}".TrimEnd());
        Assert.True(validate.ExitCode is 0 or 2, $"config validate exited {validate.ExitCode}; expected 2 (refused) or 0 (accepted)");

        if (validate.ExitCode == 2) RefusedByValidate(validate, path);
        else SurvivedUnderRun(path, port);
    }

    private void RefusedByValidate(Run.Result validate, string path)
    {
        var text = validate.Stdout + "\n" + validate.Stderr;
        Assert.True(text.Contains("restart_policy", StringComparison.Ordinal) && PolicyFields.Any(f => text.Contains(f, StringComparison.Ordinal)),
            $"config validate exited 2 without naming restart_policy.{string.Join("/", PolicyFields)}:\n{text}");
        Assert.Matches($@"{Regex.Escape(Path.GetFileName(path))}:\d+:\d+", text);

        // A file validate refuses is refused by run too: at once, with no service started.
        using var run = LocalPortProcess.Start(Home, WorkingDirectory, "run", "-c", path);
        var code = run.WaitForExit(TimeSpan.FromSeconds(15));
        Output.WriteLine($"$ localport run -c {path} -> exit {code}\n{run.Describe()}");
        Assert.True(code == 2, $"run accepted a file validate refuses (exit {code}). {run.Describe()}");
        Assert.Empty(run.Statuses);
    }

    private void SurvivedUnderRun(string path, int port)
    {
        var run = Start("run", "-c", path);
        var first = run.WaitForStatus(s => s.Name == Service, TimeSpan.FromSeconds(20));
        var clock = Stopwatch.StartNew();
        Output.WriteLine($"first status: {first.Raw}");
        // The scenario's own window: count what five seconds of a service that can never start produce.
        Thread.Sleep(Window);
        var failures = Failures(run, port);
        var elapsed = clock.Elapsed;

        var stop = Stopwatch.StartNew();
        Assert.True(run.SendSignal(Native.SIGTERM), "could not SIGTERM localport");
        int? exit = null;
        try { exit = run.WaitForExit(TimeSpan.FromSeconds(2)); }
        catch (Xunit.Sdk.XunitException) { }
        var stopped = stop.Elapsed;
        var crashes = run.Stderr.Concat(DaemonLog()).Where(IsCrash).ToList();

        Output.WriteLine($"failures within {elapsed.TotalSeconds:0.0} s of the first status: {failures}");
        Output.WriteLine($"SIGTERM -> {(exit is null ? "still running after" : $"exit {exit} in")} {stopped.TotalMilliseconds:0} ms");
        foreach (var line in crashes.Take(5)) Output.WriteLine($"  crash: {line}");
        Output.WriteLine($"last status: {run.Latest(Service)?.Raw}");

        Assert.True(failures.Total <= MostFailures, $"{failures} within {elapsed.TotalSeconds:0.0} s; at most {MostFailures} allowed. {Tail(run)}");
        Assert.True(exit is not null, $"localport did not exit within 2 s of SIGTERM. {Tail(run)}");
        Assert.Equal(0, exit);
        Assert.True(crashes.Count == 0, $"{crashes.Count} crash lines, first: {crashes.FirstOrDefault()}");
        Assert.True(run.Statuses.Any(s => s.Name == Service && s.LastError?.Contains($"port {port} is already in use") == true),
            $"no status of {Service} names the taken port as its error. {Tail(run)}");
    }

    private sealed record FailureCount(int StderrLines, int LogLines, int Restarts, int Numbered)
    {
        /// <summary>Each failure is logged (stderr shows warnings; the daemon log everything) and counts a restart: the largest count wins.</summary>
        public int Total => new[] { StderrLines, LogLines, Restarts, Numbered }.Max();
        public override string ToString() =>
            $"{Total} failures ({StderrLines} stderr lines, {LogLines} log lines, restarts={Restarts}, highest \"(failure N)\"={Numbered})";
    }

    /// <summary>Lines naming this service's failure: the bind error is in every one of them, whatever the wording around it.</summary>
    private FailureCount Failures(LocalPortProcess run, int port)
    {
        var error = $"port {port} is already in use";
        bool IsFailure(string line) => line.Contains(error, StringComparison.Ordinal) && StatusLine.TryParse(line) is null;
        var restarts = run.Statuses.Where(s => s.Name == Service).Select(s => s.Restarts).DefaultIfEmpty(0).Max();
        var numbered = run.Stderr.Where(IsFailure).Select(l => Regex.Match(l, @"\(failure (\d+)")).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
        return new FailureCount(run.Stderr.Count(IsFailure), DaemonLog().Count(IsFailure), restarts, numbered);
    }

    private IEnumerable<string> DaemonLog()
    {
        var log = Path.Combine(Home, "state", "logs", "localport.log");
        if (!File.Exists(log)) return [];
        using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n');
    }

    /// <summary>An actor that died, or a duration that could not be computed: "no configuration can make a crash".</summary>
    private static bool IsCrash(string line) =>
        line.Contains("ActorInitializationException", StringComparison.Ordinal) ||
        line.Contains("does not accept NaN", StringComparison.Ordinal) ||
        line.Contains("StackOverflow", StringComparison.Ordinal);

    /// <summary>The end of what run printed: in a hot loop the whole of it is thousands of lines.</summary>
    private static string Tail(LocalPortProcess run) =>
        $"localport run (pid {run.Pid}): last stdout: {string.Join(" | ", run.Stdout.TakeLast(3))}; last stderr: {string.Join(" | ", run.Stderr.TakeLast(5))}";
}
