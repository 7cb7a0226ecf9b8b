using System.Collections.Concurrent;
using System.Net;
using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Health;

namespace LocalPort.Actors.Tests.Support;

/// <summary>Tunnels whose readiness and exit the test controls (the actor logic, not processes, is under test here).</summary>
public sealed class FakeTunnelFactory : ITunnelFactory
{
    public ConcurrentQueue<FakeTunnel> Started { get; } = new();
    public bool ReadyAtOnce { get; set; } = true;
    private readonly BlockingCollection<FakeTunnel> _arrivals = new();

    public ITunnel Start(ServiceSpec service)
    {
        var tunnel = new FakeTunnel(Started.Count + 1000) { Service = service.Name };
        if (ReadyAtOnce) tunnel.MakeReady();
        Started.Enqueue(tunnel);
        _arrivals.Add(tunnel);
        return tunnel;
    }

    /// <summary>The next tunnel started, waiting at most <paramref name="within"/>.</summary>
    public FakeTunnel Next(TimeSpan? within = null)
    {
        if (!_arrivals.TryTake(out var tunnel, within ?? TimeSpan.FromSeconds(3)))
            throw new TimeoutException("no tunnel was started in time");
        return tunnel;
    }

    public bool NoneStartedWithin(TimeSpan time) => !_arrivals.TryTake(out _, time);
}

public sealed class FakeTunnel(int pid) : ITunnel
{
    private readonly TaskCompletionSource<EndPoint> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<EndPoint> Ready => _ready.Task;
    public Task<int> Exited => _exited.Task;
    public int? Pid { get; } = pid;
    /// <summary>The service it was started for.</summary>
    public string Service { get; init; } = "";
    /// <summary>When set, a graceful stop does not finish until the test completes this.</summary>
    public TaskCompletionSource? HoldStop { get; set; }
    public bool IsSuspended { get; set; }
    public bool Killed { get; private set; }
    public bool StoppedGracefully { get; private set; }
    /// <summary>The grace the last StopAsync allowed.</summary>
    public TimeSpan? StopGrace { get; private set; }

    public void MakeReady() => _ready.TrySetResult(new IPEndPoint(IPAddress.Loopback, 9));
    public void FailToStart(string why) => _ready.TrySetException(new TunnelStartException(why));
    public void Exit(int code) => _exited.TrySetResult(code);
    public string DescribeFailure() => "fake failure";

    public async Task StopAsync(TimeSpan grace, bool killAfterGrace = true)
    {
        StoppedGracefully = true;
        StopGrace = grace;
        if (HoldStop is { } hold) await hold.Task;
        _exited.TrySetResult(0);
    }

    public void Kill()
    {
        Killed = true;
        _exited.TrySetResult(137);
    }
}

/// <summary>A probe that answers from a script the test sets.</summary>
public sealed class ScriptedProbe : IHealthProbe
{
    private volatile ProbeResult _next = ProbeResult.Fail("not scripted");
    public int Calls;

    public void AlwaysAnswer(ProbeResult result) => _next = result;

    public Task<ProbeResult> CheckAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        return Task.FromResult(_next);
    }
}

public static class Specs
{
    public static ServiceSpec Service(string name = "svc", RestartPolicy? policy = null, HealthCheckSpec? check = null) => new()
    {
        Name = name,
        Technology = Technology.Tcp,
        LocalPort = 0, // ephemeral: the relay binds whatever is free
        RemotePort = 9,
        Connection = new TcpConnection("127.0.0.1"),
        HealthCheck = check ?? HealthCheckSpec.Default,
        RestartPolicy = policy ?? RestartPolicy.Default with { Jitter = 0 },
    };
}
