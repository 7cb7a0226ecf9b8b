using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Processes;

namespace LocalPort.Actors.SshMasters;

/// <summary>
/// One service's forward on its group's shared ssh master, as its ForwardActor sees any tunnel: ready when the master
/// carries the forward, exited when that master is gone (the ForwardActor then asks for a new forward, on the standby or
/// a new master), and Kill/StopAsync take the forward off the master without touching the other services on it.
/// Its Pid is the master's: the process that carries the service.
/// </summary>
public sealed class SharedSshTunnel : ITunnel
{
    private readonly IActorRef _masters;
    private readonly ResourceLedger? _ledger;
    private readonly TaskCompletionSource<EndPoint> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SshMaster? _carrier;
    private string? _failure;
    private int _releaseAsked;

    internal SharedSshTunnel(ServiceSpec service, SshGroup group, SshForward forward, IActorRef masters, ResourceLedger? ledger)
    {
        Service = service;
        Group = group;
        Forward = forward;
        _masters = masters;
        _ledger = ledger;
        ledger?.TrackFile(forward.SocketPath, $"ssh forward socket of {service.Name}");
        masters.Tell(new SshMasterActor.Add(this));
    }

    public ServiceSpec Service { get; }
    public SshGroup Group { get; }
    public SshForward Forward { get; }

    public Task<EndPoint> Ready => _ready.Task;
    public Task<int> Exited => _exited.Task;
    public int? Pid => Volatile.Read(ref _carrier)?.Pid;
    public bool IsSuspended => Volatile.Read(ref _carrier) is { } carrier && !_exited.Task.IsCompleted && carrier.IsSuspended;

    /// <summary>The other services on the same master right now (a signal to it hits them all).</summary>
    public IReadOnlyList<string> SharedWith =>
        Volatile.Read(ref _carrier)?.Carries.Where(name => name != Service.Name).ToList() ?? [];

    public string DescribeFailure()
    {
        if (Volatile.Read(ref _failure) is { } failure) return failure;
        if (Volatile.Read(ref _carrier) is not { } carrier) return "the shared ssh connection is gone";
        var tail = carrier.DescribeFailure();
        return $"the shared ssh connection to {Group.Destination} (pid {carrier.Pid}) ended{(tail == "no output" ? "" : $": {tail}")}";
    }

    public Task StopAsync(TimeSpan grace, bool killAfterGrace = true)
    {
        AskRelease(failed: false);
        // Answered once the master no longer carries it, or has stopped; bounded like any stop.
        return Task.WhenAny(_released.Task, Task.Delay(grace + TimeSpan.FromSeconds(2)));
    }

    /// <summary>The forward failed (unhealthy, hung, replaced): off the master, and the master is looked at.</summary>
    public void Kill() => AskRelease(failed: true);

    private void AskRelease(bool failed)
    {
        if (Interlocked.Exchange(ref _releaseAsked, 1) == 0) _masters.Tell(new SshMasterActor.Release(this, failed));
    }

    /// <summary>From the master actor: <paramref name="master"/> carries the forward now.</summary>
    internal void Carried(SshMaster master)
    {
        Volatile.Write(ref _carrier, master);
        _ready.TrySetResult(new UnixDomainSocketEndPoint(Forward.SocketPath));
        // ssh leaves a dead master's sockets behind: the forward's goes with it.
        master.Exited.ContinueWith(t =>
        {
            DeleteSocket();
            _exited.TrySetResult(t.Result);
        }, TaskScheduler.Default);
    }

    /// <summary>
    /// From the master actor: no forward could be made (the master did not come up, or refused it). Only Ready says so,
    /// with the reason; Exited completes when the ForwardActor lets go of the tunnel (Kill), as it does on any failure.
    /// </summary>
    internal void Failed(string reason)
    {
        Volatile.Write(ref _failure, reason);
        DeleteSocket();
        _ready.TrySetException(new TunnelStartException(reason));
        _released.TrySetResult();
    }

    /// <summary>From the master actor (or a master's exit): the forward is off its master. Thread-safe.</summary>
    internal void Released()
    {
        DeleteSocket();
        _ready.TrySetException(new TunnelStartException("stopped"));
        _exited.TrySetResult(0);
        _released.TrySetResult();
    }

    private void DeleteSocket()
    {
        try
        {
            File.Delete(Forward.SocketPath);
            _ledger?.ForgetFile(Forward.SocketPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>For chaos replies: who else a signal to <paramref name="tunnel"/>'s process hits ("" when nobody).</summary>
    public static string AlsoHit(ITunnel tunnel) => tunnel is SharedSshTunnel { SharedWith: { Count: > 0 } others } shared
        ? $"; pid {shared.Pid} is the ssh connection to {shared.Group.Destination} shared with {string.Join(", ", others.Order(StringComparer.Ordinal))}: every one of them is hit"
        : "";
}
