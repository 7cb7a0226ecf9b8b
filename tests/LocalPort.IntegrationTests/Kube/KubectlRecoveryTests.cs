using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests.Kube;

/// <summary>
/// `localport run` with kubectl services, driving the real /usr/bin/kubectl against the test Kubernetes API:
/// the failures users meet (a pod replaced, an idle timeout, a statefulset pod restarted under the same name)
/// are recovered, and a client reconnects through the same local port.
/// </summary>
public sealed class KubectlRecoveryTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private LocalPortProcess RunKubectl(KubeLab lab, string name, int port, int remotePort, string resourceType, string resourceName)
    {
        var path = WriteConfig(Yaml.File(Yaml.Kubectl(name, port, remotePort, lab.Connection(resourceType, resourceName))));
        return RunUntilRunning(path, [name], StartTimeout);
    }

    [Fact]
    public async Task A_replaced_pod_is_recovered_within_two_seconds_and_the_client_reconnects()
    {
        var lab = KubeLab.Start(this);
        var port = FreePort.Next();
        var run = RunKubectl(lab, "web", port, 80, "service", "web");
        using var client = await EchoClient.ConnectAsync(port);
        Assert.True(await client.RoundTripAsync("before"), run.Describe());
        var before = run.Latest("web")!;
        var from = run.StdoutCount;

        var clock = Stopwatch.StartNew();
        var replacement = lab.Kube.ReplacePod(KubeLab.WebPod);

        Assert.True(await client.ClosedWithinAsync(TimeSpan.FromSeconds(5)), "the connection to the deleted pod stayed open");
        Assert.True(await Traffic.EchoEventuallyAsync(port, TimeSpan.FromSeconds(10)), run.Describe());
        var recovered = clock.Elapsed;
        var after = run.WaitForStatus(s => s.Name == "web" && s.IsRunning && s.Pid != before.Pid, TimeSpan.FromSeconds(5), from);
        Output.WriteLine($"pod {KubeLab.WebPod} replaced by {replacement}: a new connection echoed after {recovered.TotalMilliseconds:0} ms " +
                         $"(kubectl {before.Pid} -> {after.Pid}, restarts {before.Restarts} -> {after.Restarts})");
        Assert.True(recovered < TimeSpan.FromSeconds(2), $"recovery took {recovered.TotalMilliseconds:0} ms");
        Assert.Equal(before.Restarts + 1, after.Restarts);
        Assert.Contains(lab.Kube.PortForwards, f => f.Pod == replacement);
        StopAndCheck(run);
    }

    [Fact]
    public async Task A_forward_closed_by_an_idle_timeout_is_recovered()
    {
        var lab = KubeLab.Start(this);
        var port = FreePort.Next();
        var run = RunKubectl(lab, "web", port, 80, "deployment", "web");
        Assert.True(await Traffic.EchoEventuallyAsync(port, TimeSpan.FromSeconds(5)), run.Describe());
        var before = run.Latest("web")!;
        var from = run.StdoutCount;

        var clock = Stopwatch.StartNew();
        lab.Kube.IdleTimeout = TimeSpan.FromSeconds(1);
        var after = run.WaitForStatus(s => s.Name == "web" && s.IsRunning && s.Pid != before.Pid, TimeSpan.FromSeconds(15), from);
        lab.Kube.IdleTimeout = null;

        Output.WriteLine($"idle timeout 1 s: kubectl {before.Pid} replaced by {after.Pid} {clock.ElapsedMilliseconds} ms after it was set");
        Assert.Contains(run.Statuses, s => s.Name == "web" && s.LastError?.Contains("lost connection to pod") == true);
        Assert.True(await Traffic.EchoEventuallyAsync(port, TimeSpan.FromSeconds(5)), run.Describe());
        Assert.Contains(lab.Kube.PortForwards, f => f.EndReason?.Contains("idle", StringComparison.OrdinalIgnoreCase) == true);
        StopAndCheck(run);
    }

    [Fact]
    public async Task A_statefulset_target_serves_traffic_and_survives_its_pod_restarting_under_the_same_name()
    {
        var lab = KubeLab.Start(this);
        var port = FreePort.Next();
        var run = RunKubectl(lab, "db", port, 5432, "statefulset", "db");
        Assert.True(await Traffic.EchoEventuallyAsync(port, TimeSpan.FromSeconds(5)), run.Describe());
        var before = run.Latest("db")!;
        var uid = lab.Kube.Pods().Single(p => p.Name == KubeLab.DbPod).Uid;
        var from = run.StdoutCount;

        var clock = Stopwatch.StartNew();
        lab.Kube.ReplacePod(KubeLab.DbPod, newName: KubeLab.DbPod);

        var after = run.WaitForStatus(s => s.Name == "db" && s.IsRunning && s.Pid != before.Pid, TimeSpan.FromSeconds(10), from);
        Assert.True(await Traffic.EchoEventuallyAsync(port, TimeSpan.FromSeconds(5)), run.Describe());
        Output.WriteLine($"statefulset pod {KubeLab.DbPod} restarted (new uid): traffic again after {clock.ElapsedMilliseconds} ms");
        Assert.NotEqual(uid, lab.Kube.Pods().Single(p => p.Name == KubeLab.DbPod).Uid);
        Assert.Equal(before.Restarts + 1, after.Restarts);
        StopAndCheck(run);
    }

    [Fact]
    public async Task A_sigkilled_kubectl_is_restarted_with_the_same_arguments_and_traffic_resumes()
    {
        var lab = KubeLab.Start(this);
        var port = FreePort.Next();
        var run = RunKubectl(lab, "web", port, 80, "deployment", "web");
        Assert.True(await Traffic.EchoEventuallyAsync(port, TimeSpan.FromSeconds(5)), run.Describe());
        var first = run.Latest("web")!;
        var arguments = CommandLine(first.Pid!.Value);
        Assert.Equal(["/usr/bin/kubectl", "port-forward", "--address", "127.0.0.1", "deployment/web", ":80", "--namespace", "default",
            "--context", lab.Context, "--kubeconfig", lab.KubeconfigPath], arguments);
        var from = run.StdoutCount;

        var clock = Stopwatch.StartNew();
        Assert.True(Native.Signal(first.Pid!.Value, Native.SIGKILL));
        var second = run.WaitForStatus(s => s.Name == "web" && s.IsRunning && s.Pid is not null && s.Pid != first.Pid, TimeSpan.FromSeconds(10), from);
        Assert.True(await Traffic.EchoEventuallyAsync(port, TimeSpan.FromSeconds(5)), run.Describe());
        Output.WriteLine($"kubectl {first.Pid} SIGKILLed: {second.Pid} serves again after {clock.ElapsedMilliseconds} ms");

        Assert.Equal(first.Restarts + 1, second.Restarts);
        Assert.Equal(arguments, CommandLine(second.Pid!.Value));
        StopAndCheck(run);
    }

    private static string[] CommandLine(int pid) =>
        File.ReadAllText($"/proc/{pid}/cmdline").TrimEnd('\0').Split('\0');

    [Fact]
    public void Credentials_the_api_refuses_are_named_in_last_error_and_count_as_failures()
    {
        var lab = KubeLab.Start(this);
        var kubeconfig = Path.Combine(Root, "wrong-token.kubeconfig");
        File.WriteAllText(kubeconfig, File.ReadAllText(lab.KubeconfigPath).Replace(lab.Kube.Token, "not-the-token"));
        var port = FreePort.Next();
        var path = WriteConfig(Yaml.File(Yaml.Kubectl("web", port, 80, lab.Connection("service", "web", kubeconfig), restartPolicy: """
            restart_policy:
              max_attempts: 2
            """)));

        var run = Start("run", "-c", path);
        var failed = run.WaitForStatus(s => s.Name == "web" && s.State == "failed", StartTimeout);

        Output.WriteLine(failed.Raw);
        Assert.StartsWith("exited with code 1", failed.LastError);
        Assert.Contains("authentication failed", failed.LastError);
        Assert.Contains("You must be logged in to the server", failed.LastError);
        Assert.DoesNotContain(run.Statuses, s => s.State == "waiting-for-cluster");
        StopAndCheck(run);
    }

    /// <summary>SIGTERM: exit 0, and no kubectl left behind.</summary>
    private void StopAndCheck(LocalPortProcess run)
    {
        var kubectls = run.Statuses.Where(s => s.Pid is not null).Select(s => s.Pid!.Value).Distinct().ToList();
        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(TimeSpan.FromSeconds(10)));
        Assert.All(kubectls, pid => Assert.False(Native.IsAlive(pid), $"kubectl {pid} outlived localport"));
    }
}

/// <summary>One client connection kept open through the local port.</summary>
internal sealed class EchoClient : IDisposable
{
    private readonly Socket _socket;

    private EchoClient(Socket socket) => _socket = socket;

    public static async Task<EchoClient> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return new EchoClient(socket);
    }

    public async Task<bool> RoundTripAsync(string text)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var payload = Encoding.ASCII.GetBytes(text);
        await _socket.SendAsync(payload, SocketFlags.None, cts.Token);
        var received = new byte[payload.Length];
        for (var total = 0; total < received.Length;)
        {
            var read = await _socket.ReceiveAsync(received.AsMemory(total), SocketFlags.None, cts.Token);
            if (read == 0) return false;
            total += read;
        }
        return received.AsSpan().SequenceEqual(payload);
    }

    /// <summary>True when the far side closes (or resets) the connection within <paramref name="timeout"/>.</summary>
    public async Task<bool> ClosedWithinAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var buffer = new byte[256];
            while (await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) > 0) { }
            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();
}
