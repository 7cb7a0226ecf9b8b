using System.Diagnostics;
using LocalPort.TestKube.Tests.Support;

namespace LocalPort.TestKube.Tests;

/// <summary>What kubectl 1.32 does when the test server misbehaves. Each test has its own server.</summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    public static TheoryData<PortForwardProtocolKind> Protocols() => [PortForwardProtocolKind.WebSocket, PortForwardProtocolKind.Spdy];

    private static KeyValuePair<string, string>[] EnvFor(PortForwardProtocolKind protocol) =>
        protocol == PortForwardProtocolKind.Spdy ? [Kubectl.NoWebSockets] : [];

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Deleting_the_pod_breaks_an_active_connection_and_kubectl_exits_with_lost_connection(PortForwardProtocolKind protocol)
    {
        await using var scope = await KubeScope.StartAsync(output);
        using var forward = await scope.PortForwardAsync("service/web", 80, EnvFor(protocol));
        using var client = await Echo.ConnectAsync(forward.LocalPort);
        Assert.Equal("up", await Echo.RoundTripAsync(client, "up"));

        var clock = Stopwatch.StartNew();
        Assert.True(scope.Kube.DeletePod(KubeScope.WebPod));

        Assert.True(await Echo.ClosedWithinAsync(client, Bound), "the local connection stayed open");
        Assert.Equal(1, await forward.WaitForExitAsync(Bound));
        output.WriteLine($"kubectl exited {clock.ElapsedMilliseconds} ms after the deletion");
        // kubectl 1.32: the kubelet's error from the error stream, then it closes the whole forward.
        Assert.Matches(@"an error occurred forwarding \d+ -> 80: error forwarding port 80 to pod [0-9a-f]{64}, uid : network namespace for sandbox \\?""[0-9a-f]{64}\\?"" is closed", forward.Stderr);
        Assert.EndsWith("error: lost connection to pod\n", forward.Stderr);
    }

    [Fact]
    public async Task Deleting_the_pod_of_an_idle_forward_closes_it_too()
    {
        await using var scope = await KubeScope.StartAsync(output);
        using var forward = await scope.PortForwardAsync($"pod/{KubeScope.WebPod}", 80);
        Assert.Equal("x", await Echo.RoundTripAsync(forward.LocalPort, "x"));
        await Poll.UntilAsync(() => scope.Kube.ActiveStreams == 0, "the closed connection's streams to end");

        scope.Kube.DeletePod(KubeScope.WebPod);

        Assert.Equal(1, await forward.WaitForExitAsync(Bound));
        Assert.Equal("error: lost connection to pod\n", forward.Stderr);
        Assert.Equal("pod deleted", scope.Kube.PortForwards.Single().EndReason);
    }

    [Fact]
    public async Task Like_a_real_kubelet_an_idle_forward_outlives_its_pod_until_the_next_connection()
    {
        await using var scope = await KubeScope.StartAsync(output, new TestKubeOptions { PodDeletion = PodDeletionBehavior.BreakStreamsOnly });
        using var forward = await scope.PortForwardAsync("deployment/web", 80);
        Assert.Equal("x", await Echo.RoundTripAsync(forward.LocalPort, "x"));
        await Poll.UntilAsync(() => scope.Kube.ActiveStreams == 0, "the closed connection's streams to end");

        scope.Kube.DeletePod(KubeScope.WebPod);

        // Nothing told kubectl: the forward is still up, accepting local connections...
        Assert.Equal(1, scope.Kube.ActivePortForwards);
        Assert.False(forward.HasExited);
        using var client = await Echo.ConnectAsync(forward.LocalPort);
        // ...until one is made: it fails, and kubectl 1.32 then gives up on the whole forward.
        Assert.True(await Echo.ClosedWithinAsync(client, Bound));
        Assert.Equal(1, await forward.WaitForExitAsync(Bound));
        Assert.Matches(@"an error occurred forwarding \d+ -> 80: error forwarding port 80 to pod [0-9a-f]{64}, uid : failed to find sandbox \\?""[0-9a-f]{64}\\?"" in store: not found", forward.Stderr);
        Assert.EndsWith("error: lost connection to pod\n", forward.Stderr);
    }

    [Fact]
    public async Task A_replaced_pod_takes_over_the_service_and_the_deployment()
    {
        await using var scope = await KubeScope.StartAsync(output);
        using var before = await scope.PortForwardAsync("service/web", 80);

        var replacement = scope.Kube.ReplacePod(KubeScope.WebPod);

        Assert.Matches("^web-7c9f8d-[a-z0-9]{5}$", replacement);
        Assert.NotEqual(KubeScope.WebPod, replacement);
        Assert.Equal(1, await before.WaitForExitAsync(Bound));
        var pods = await scope.Kubectl.RunAsync("get", "pods", "-l", "app=web", "-o", "name");
        Assert.Equal($"pod/{replacement}", pods.Stdout.Trim());

        using var after = await scope.PortForwardAsync("deployment/web", 80);
        Assert.Equal("new pod", await Echo.RoundTripAsync(after.LocalPort, "new pod"));
        Assert.Equal(replacement, scope.Kube.PortForwards[^1].Pod);
    }

    [Fact]
    public async Task An_unreachable_API_refuses_connections_and_serves_again_on_the_same_port_when_it_comes_back()
    {
        await using var scope = await KubeScope.StartAsync(output);
        using var forward = await scope.PortForwardAsync("statefulset/db", 5432);
        var port = scope.Kube.Port;

        scope.Kube.GoUnreachable();

        Assert.False(scope.Kube.IsReachable);
        Assert.Equal(1, await forward.WaitForExitAsync(Bound));
        Assert.Contains("error: lost connection to pod", forward.Stderr);
        var down = await scope.Kubectl.RunAsync("get", "--raw", "/readyz");
        Assert.Equal(1, down.ExitCode);
        Assert.Contains($"The connection to the server 127.0.0.1:{port} was refused", down.Stderr);

        scope.Kube.ComeBack();

        Assert.Equal(port, scope.Kube.Port);
        var up = await scope.Kubectl.RunAsync("get", "--raw", "/readyz");
        Assert.Equal((0, "ok"), (up.ExitCode, up.Stdout.Trim()));
        using var again = await scope.PortForwardAsync("statefulset/db", 5432);
        Assert.Equal("back", await Echo.RoundTripAsync(again.LocalPort, "back"));
    }

    [Fact]
    public async Task The_idle_timeout_closes_a_quiet_forward_but_not_a_busy_one()
    {
        await using var scope = await KubeScope.StartAsync(output);
        scope.Kube.IdleTimeout = TimeSpan.FromMilliseconds(800);
        using var forward = await scope.PortForwardAsync("service/web", 80);
        using var client = await Echo.ConnectAsync(forward.LocalPort);

        // Traffic for longer than the timeout keeps the connection alive (kubectl's PINGs alone do not).
        var busy = Stopwatch.StartNew();
        var quiet = Stopwatch.StartNew();
        while (busy.Elapsed < TimeSpan.FromMilliseconds(1500))
        {
            await Task.Delay(200); // the pace of the traffic, not a wait for anything
            Assert.Equal("tick", await Echo.RoundTripAsync(client, "tick"));
            quiet.Restart();
        }
        Assert.False(forward.HasExited);

        Assert.Equal(1, await forward.WaitForExitAsync(Bound));
        output.WriteLine($"kubectl exited {quiet.ElapsedMilliseconds} ms after the last echo");
        Assert.InRange(quiet.Elapsed, TimeSpan.FromMilliseconds(600), Bound);
        Assert.EndsWith("error: lost connection to pod\n", forward.Stderr);
        Assert.StartsWith("idle timeout", scope.Kube.PortForwards.Single().EndReason);
        Assert.True(await Echo.ClosedWithinAsync(client, Bound));
    }

    [Fact]
    public async Task Stalled_streams_hold_bytes_without_closing_anything_and_release_them_when_resumed()
    {
        await using var scope = await KubeScope.StartAsync(output);
        using var forward = await scope.PortForwardAsync("service/web", 80, Kubectl.NoWebSockets);
        using var client = await Echo.ConnectAsync(forward.LocalPort);
        Assert.Equal("flowing", await Echo.RoundTripAsync(client, "flowing"));

        scope.Kube.StallStreams();
        var pending = Echo.RoundTripAsync(client, "held");

        Assert.False(await Echo.CompletesWithinAsync(pending, TimeSpan.FromMilliseconds(600)), "bytes moved while stalled");
        Assert.Equal((1, 1), (scope.Kube.ActivePortForwards, scope.Kube.ActiveStreams));
        Assert.False(forward.HasExited);

        scope.Kube.StallStreams(false);

        Assert.Equal("held", await pending);
        Assert.Equal("flowing again", await Echo.RoundTripAsync(client, "flowing again"));
    }
}
