using LocalPort.TestKube.Tests.Support;

namespace LocalPort.TestKube.Tests;

/// <summary>kubectl port-forward to every kind of target, over both upgrade flavours.</summary>
public sealed class PortForwardTests : IClassFixture<PortForwardTests.Fixture>
{
    private readonly KubeScope _scope;

    public PortForwardTests(Fixture fixture, ITestOutputHelper output)
    {
        _scope = fixture.Scope;
        _scope.Attach(output);
    }

    public static TheoryData<string, int, string, PortForwardProtocolKind> Targets()
    {
        var data = new TheoryData<string, int, string, PortForwardProtocolKind>();
        foreach (var protocol in new[] { PortForwardProtocolKind.WebSocket, PortForwardProtocolKind.Spdy })
        {
            data.Add("service/web", 80, KubeScope.WebPod, protocol);
            data.Add($"pod/{KubeScope.WebPod}", 80, KubeScope.WebPod, protocol);
            data.Add("deployment/web", 80, KubeScope.WebPod, protocol);
            data.Add("statefulset/db", 5432, KubeScope.DbPod, protocol);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Port_forward_resolves_the_target_to_its_pod_and_relays_to_the_upstream(string target, int port, string pod, PortForwardProtocolKind protocol)
    {
        // WebSocket is kubectl 1.32's default; SPDY is what it uses with the feature switched off.
        KeyValuePair<string, string>[] env = protocol == PortForwardProtocolKind.Spdy ? [Kubectl.NoWebSockets] : [];

        using var forward = await _scope.PortForwardAsync(target, port, env);

        // Two local connections: two error/data stream pairs on the one upgraded connection.
        Assert.Equal($"hello {target}", await Echo.RoundTripAsync(forward.LocalPort, $"hello {target}"));
        Assert.Equal("again", await Echo.RoundTripAsync(forward.LocalPort, "again"));
        var upgrade = _scope.Kube.PortForwards[^1];
        Assert.Equal((pod, protocol), (upgrade.Pod, upgrade.Protocol));
        Assert.False(forward.HasExited);
        Assert.Matches($@"Forwarding from 127\.0\.0\.1:{forward.LocalPort} -> {port}", forward.Stdout);
    }

    [Fact]
    public async Task A_service_port_with_a_named_target_port_reaches_the_pods_named_container_port()
    {
        // service web-named:8080 -> targetPort "http" -> the web pod's container port 80 (named "http").
        _scope.Kube.AddService("web-named", TestKubeServer.Labels("app=web"), [new ServicePortSpec(8080, TargetPortName: "http")]);

        using var forward = await _scope.PortForwardAsync("service/web-named", 8080);

        Assert.Matches(@"Forwarding from 127\.0\.0\.1:\d+ -> 80", forward.Stdout);
        Assert.Equal("named", await Echo.RoundTripAsync(forward.LocalPort, "named"));
    }

    [Fact]
    public async Task Port_forward_carries_a_large_payload_both_ways_intact()
    {
        using var forward = await _scope.PortForwardAsync("service/web", 80);
        var payload = string.Concat(Enumerable.Range(0, 40_000).Select(i => (char)('a' + i % 26)));
        Assert.Equal(payload, await Echo.RoundTripAsync(forward.LocalPort, payload));
    }

    public sealed class Fixture : IAsyncLifetime
    {
        public KubeScope Scope { get; private set; } = null!;

        public async Task InitializeAsync() => Scope = await KubeScope.StartAsync();

        public async Task DisposeAsync() => await Scope.DisposeAsync();
    }
}

public sealed class WebSocketFallbackTests(ITestOutputHelper output)
{
    [Fact]
    public async Task When_the_server_refuses_the_WebSocket_upgrade_kubectl_falls_back_to_SPDY()
    {
        await using var scope = await KubeScope.StartAsync(output, new TestKubeOptions { EnableWebSocketPortForward = false });

        using var forward = await scope.PortForwardAsync("service/web", 80);

        Assert.Equal("fallback", await Echo.RoundTripAsync(forward.LocalPort, "fallback"));
        Assert.Equal(PortForwardProtocolKind.Spdy, scope.Kube.PortForwards.Single().Protocol);
        var path = $"/api/v1/namespaces/default/pods/{KubeScope.WebPod}/portforward";
        // First the WebSocket attempt (GET, answered 400), then the SPDY upgrade (POST).
        Assert.Contains($"GET {path}", scope.Kube.Requests);
        Assert.Contains($"POST {path}", scope.Kube.Requests);
    }
}
