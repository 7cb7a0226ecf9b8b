using System.Collections.Concurrent;
using System.Net;
using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Processes;

namespace LocalPort.Actors.Tests.Chaos;

/// <summary>Tunnels backed by a real child process (`sleep`), so kill and pause have a real pid to signal.</summary>
public sealed class SleepTunnelFactory : ITunnelFactory, IDisposable
{
    private readonly BlockingCollection<SleepTunnel> _arrivals = new();
    public ConcurrentQueue<SleepTunnel> Started { get; } = new();

    public ITunnel Start(ServiceSpec service)
    {
        var tunnel = new SleepTunnel(ChildProcess.Start(new ProcessSpec("sleep", ["60"])));
        Started.Enqueue(tunnel);
        _arrivals.Add(tunnel);
        return tunnel;
    }

    public SleepTunnel Next(TimeSpan? within = null) =>
        _arrivals.TryTake(out var tunnel, within ?? TimeSpan.FromSeconds(5)) ? tunnel : throw new TimeoutException("no tunnel was started in time");

    public void Dispose()
    {
        foreach (var tunnel in Started) tunnel.Child.Dispose();
    }
}

public sealed class SleepTunnel(ChildProcess child) : ITunnel
{
    public ChildProcess Child { get; } = child;
    public Task<EndPoint> Ready { get; } = Task.FromResult<EndPoint>(new IPEndPoint(IPAddress.Loopback, 9));
    public Task<int> Exited => Child.Exited;
    public int? Pid => Child.Pid;
    public bool IsSuspended => !Exited.IsCompleted && Posix.State(Child.Pid) is 'T' or 't';
    public string DescribeFailure() => "sleep ended";
    public Task StopAsync(TimeSpan grace, bool killAfterGrace = true) => Child.StopAsync(grace, killAfterGrace);
    public void Kill() => Child.Kill();
}
