using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using LocalPort.Actors.Reload;
using LocalPort.Actors.ServiceManager;
using LocalPort.Actors.Services;
using LocalPort.Actors.Shutdown;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Tests.ServiceManager;

/// <summary>
/// The notifier's protocol rules, with a real datagram socket (abstract name) standing for systemd and a probe for
/// the root; the watchdog under virtual time.
/// </summary>
public sealed class SystemdNotifierTests : VirtualTimeTestKit
{
    private readonly string _address = $"@localport-notifier-test-{Guid.NewGuid():N}";
    private readonly Socket _manager = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly TestProbe _root;

    public SystemdNotifierTests()
    {
        _manager.Bind(NotifySocket.EndPointOf(_address)!);
        _root = CreateTestProbe();
    }

    private static ServiceStatus Status(string name, ServiceState state) =>
        new(name, Technology.Tcp, 18000, state, null, 0, null, null, DateTimeOffset.Now);

    /// <summary>Starts the notifier and answers its snapshot request with <paramref name="services"/>.</summary>
    private IActorRef StartNotifier(TimeSpan? watchdog, params ServiceStatus[] services)
    {
        var notifier = Sys.ActorOf(SystemdNotifier.Props(_address, _root.Ref, watchdog));
        _root.ExpectMsg<GetStatus>(TimeSpan.FromSeconds(5));
        _root.Reply(new StatusSnapshot(services));
        return notifier;
    }

    private void Publish(object e) => Sys.EventStream.Publish(e);

    private string Next(TimeSpan? timeout = null)
    {
        _manager.ReceiveTimeout = (int)(timeout ?? TimeSpan.FromSeconds(5)).TotalMilliseconds;
        var buffer = new byte[4096];
        var length = _manager.Receive(buffer);
        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    /// <summary>Nothing arrives within a short while.</summary>
    private void ExpectNothing()
    {
        _manager.ReceiveTimeout = 300;
        var buffer = new byte[4096];
        var error = Assert.Throws<SocketException>(() => _manager.Receive(buffer));
        Assert.Equal(SocketError.TimedOut, error.SocketErrorCode);
    }

    [Fact]
    public void Ready_waits_until_every_service_has_settled()
    {
        StartNotifier(null, Status("web", ServiceState.Starting), Status("db", ServiceState.Starting));
        Assert.Equal("STATUS=serving 0 of 2 services; db starting, web starting", Next());

        Publish(new ServiceStatusChanged(Status("web", ServiceState.Running)));
        Assert.Equal("STATUS=serving 1 of 2 services; db starting", Next());
        Publish(new ServiceStatusChanged(Status("db", ServiceState.Running)));

        Assert.Equal("READY=1\nSTATUS=serving 2 of 2 services", Next());
        Publish(new ServiceStatusChanged(Status("db", ServiceState.BackingOff)));
        Assert.Equal("STATUS=serving 1 of 2 services; db backing off", Next());
    }

    [Fact]
    public void A_reload_is_bracketed_by_RELOADING_with_the_monotonic_clock_and_READY()
    {
        StartNotifier(null, Status("web", ServiceState.Running));
        Assert.Equal("READY=1\nSTATUS=serving 1 of 1 service", Next());

        var before = NotifySocket.MonotonicMicroseconds();
        Publish(new ReloadStarted("/home/me/localport.yaml"));
        var reloading = Next().Split('\n');
        Assert.Equal("RELOADING=1", reloading[0]);
        var monotonic = long.Parse(reloading.Single(l => l.StartsWith("MONOTONIC_USEC=")).Split('=')[1]);
        Assert.InRange(monotonic, before, NotifySocket.MonotonicMicroseconds());
        Assert.Contains("STATUS=reloading /home/me/localport.yaml", reloading);

        Publish(ReloadResult.Refused("localport.yaml:3:5: unknown technology"));
        Assert.Equal("READY=1\nSTATUS=reload refused (see the log); serving 1 of 1 service", Next());
    }

    [Fact]
    public void A_reload_during_start_up_is_part_of_the_start()
    {
        StartNotifier(null, Status("web", ServiceState.Starting));
        Assert.StartsWith("STATUS=", Next());
        Publish(new ReloadStarted("/home/me/localport.yaml"));
        Publish(ReloadResult.Refused("broken"));
        ExpectNothing();

        Publish(new ServiceStatusChanged(Status("web", ServiceState.Running)));
        Assert.Equal("READY=1\nSTATUS=serving 1 of 1 service", Next());
    }

    [Fact]
    public void Stopping_is_sent_once_and_nothing_claims_readiness_after_it()
    {
        StartNotifier(null, Status("web", ServiceState.Running));
        Assert.StartsWith("READY=1", Next());

        Publish(new ShutdownPhaseStarted(ShutdownPhases.StopNewWork));
        Assert.Equal("STOPPING=1\nSTATUS=stopping every service", Next());
        Publish(new ShutdownPhaseStarted(ShutdownPhases.CompleteCurrent));
        Publish(new ServiceStatusChanged(Status("web", ServiceState.Stopping)));
        Publish(new ReloadStarted("/home/me/localport.yaml"));
        Publish(ReloadResult.ShuttingDown());
        ExpectNothing();
    }

    [Fact]
    public void The_watchdog_is_pinged_at_once_and_then_every_interval()
    {
        StartNotifier(TimeSpan.FromSeconds(10), Status("web", ServiceState.Running));
        var first = new[] { Next(), Next() };
        Assert.Contains("WATCHDOG=1", first);
        Assert.Contains(first, m => m.StartsWith("READY=1"));

        Advance(TimeSpan.FromSeconds(9));
        ExpectNothing();
        Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("WATCHDOG=1", Next());
        Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("WATCHDOG=1", Next());
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _manager.Dispose();
        base.Dispose(disposing);
    }
}
