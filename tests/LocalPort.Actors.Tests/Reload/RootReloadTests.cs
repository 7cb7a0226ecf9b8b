using LocalPort.Actors.Forwarding;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Tests.Reload;

public class RootReloadTests : ReloadTestKit
{
    private static readonly ServiceSpec Web = Specs.Service("web");
    private static readonly ServiceSpec Db = Specs.Service("db");

    [Fact]
    public void An_added_service_starts()
    {
        var root = StartRoot([Web]);
        ExpectStatus("web", s => s.State == ServiceState.Running);

        var result = Apply(root, Web, Db);

        Assert.True(result.Ok);
        Assert.Equal(["db"], result.Added);
        Assert.Empty(result.Removed.Concat(result.Restarted).Concat(result.UpdatedInPlace));
        ExpectStatus("db", s => s is { State: ServiceState.Running, Healthy: true });
        Assert.Equal(["web", "db"], Tunnels.Started.Select(t => t.Service));
    }

    [Fact]
    public void A_removed_service_stops_and_is_never_restarted()
    {
        var root = StartRoot([Web, Db]);
        AwaitAll(root, s => s.State == ServiceState.Running);
        var db = new[] { Tunnels.Next(), Tunnels.Next() }.Single(t => t.Service == "db");
        var removals = CreateTestProbe();
        Sys.EventStream.Subscribe(removals, typeof(ServiceRemoved));

        var result = Apply(root, Web);

        Assert.Equal(["db"], result.Removed);
        Assert.Equal("db", removals.ExpectMsg<ServiceRemoved>(TimeSpan.FromSeconds(3)).Name);
        Assert.True(db.StoppedGracefully);
        Assert.Equal(["web"], Snapshot(root).Select(s => s.Name));
        Assert.Null(Child("forward-db"));
        Assert.Null(Child("health-db"));
        db.Exit(1);
        Advance(TimeSpan.FromMinutes(10));
        Assert.True(Tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public void A_port_change_restarts_the_service()
    {
        var root = StartRoot([Web]);
        ExpectStatus("web", s => s.State == ServiceState.Running);
        var old = Tunnels.Next();

        var result = Apply(root, Web with { RemotePort = 10 });

        Assert.Equal(["web"], result.Restarted);
        Assert.True(old.StoppedGracefully);
        Assert.NotSame(old, Tunnels.Next());
        ExpectStatus("web", s => s is { State: ServiceState.Running, Restarts: 0 });
        Assert.NotNull(Child("forward-web"));
    }

    [Fact]
    public void A_restart_binds_the_same_local_port_again_once_the_old_forward_let_go()
    {
        var port = FreePort.Next();
        var web = Web with { LocalPort = port };
        var root = StartRoot([web]);
        ExpectStatus("web", s => s.State == ServiceState.Running);

        var result = Apply(root, web with { Connection = new TcpConnection("localhost") });

        Assert.Equal(["web"], result.Restarted);
        var status = ExpectStatus("web", s => s.State is ServiceState.Running or ServiceState.BackingOff or ServiceState.Failed);
        Assert.Equal(ServiceState.Running, status.State);
        Assert.Equal(port, status.LocalPort);
    }

    [Fact]
    public void A_health_interval_change_applies_in_place()
    {
        var check = HealthCheckSpec.Default with { Interval = TimeSpan.FromSeconds(5) };
        var web = Specs.Service("web", check: check);
        var root = StartRoot([web]);
        ExpectStatus("web", s => s is { State: ServiceState.Running, Healthy: true });
        var calls = ProbeOf("web").Calls;

        var result = Apply(root, web with { HealthCheck = check with { Interval = TimeSpan.FromSeconds(20) } });

        Assert.Equal(["web"], result.UpdatedInPlace);
        Assert.Empty(result.Restarted);
        Assert.NotNull(Child("health-web"));
        Advance(TimeSpan.FromSeconds(5));
        Assert.NotNull(Child("health-web"));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(calls, ProbeOf("web").Calls);
        Advance(TimeSpan.FromSeconds(15));
        AwaitCondition(() => ProbeOf("web").Calls == calls + 1, TimeSpan.FromSeconds(3));
        var tunnel = Assert.Single(Tunnels.Started);
        Assert.False(tunnel.StoppedGracefully || tunnel.Killed);
        Assert.Equal(ServiceState.Running, Snapshot(root).Single().State);
    }

    [Fact]
    public void A_restart_policy_change_applies_in_place_to_the_next_failure()
    {
        var root = StartRoot([Web]);
        ExpectStatus("web", s => s.State == ServiceState.Running);
        var tunnel = Tunnels.Next();

        var result = Apply(root, Web with { RestartPolicy = Web.RestartPolicy with { Enabled = false } });

        Assert.Equal(["web"], result.UpdatedInPlace);
        Assert.False(tunnel.StoppedGracefully || tunnel.Killed);
        Assert.NotNull(Child("forward-web"));
        tunnel.Exit(1);
        ExpectStatus("web", s => s.State == ServiceState.Failed);
        Assert.True(Tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public void A_disabled_service_stops_and_an_enabled_one_starts()
    {
        var off = Specs.Service("off") with { Enabled = false };
        var root = StartRoot([Web, off]);
        ExpectStatus("web", s => s.State == ServiceState.Running);
        var web = Tunnels.Next();

        var result = Apply(root, Web with { Enabled = false }, off with { Enabled = true });

        Assert.Equal(["web"], result.Removed);
        Assert.Equal(["off"], result.Added);
        Assert.True(web.StoppedGracefully);
        Assert.Equal("off", Tunnels.Next().Service);
        ExpectStatus("off", s => s.State == ServiceState.Running);
        AwaitCondition(() => Snapshot(root).Single(s => s.Name == "web").State == ServiceState.Disabled, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Reloading_an_unchanged_file_changes_nothing()
    {
        const string yaml = """
            services:
              - name: web
                technology: ssh
                local_port: 15433
                remote_port: 5432
                connection: { host: bastion, options: { ServerAliveInterval: 10 }, password: s3cret }
                tags: [db]
                health_check: { type: http, config: { url: "http://127.0.0.1:15433/", expected_status_codes: [200] } }
            """;
        var first = ConfigLoader.LoadText(yaml, "a.yaml").Config!.Services[0];
        var second = ConfigLoader.LoadText(yaml, "a.yaml").Config!.Services[0];

        var plan = ReloadPlan.Between([first], [second]);

        Assert.Empty(plan.Add.Concat(plan.Enable).Concat(plan.Disable).Concat(plan.Restart).Concat(plan.Update));
        Assert.Empty(plan.Remove);
    }

    [Fact]
    public void Services_outside_the_selection_are_not_started_by_a_reload()
    {
        var root = StartRoot([Web], selection: s => s.Name == "web");
        ExpectStatus("web", s => s.State == ServiceState.Running);

        var result = Apply(root, Web, Db);

        Assert.True(result.Ok && result.ChangedNothing(), result.ToString());
        Assert.Equal(["web"], Snapshot(root).Select(s => s.Name));
    }

    [Fact]
    public void A_failed_service_gets_a_fresh_start_from_a_reload()
    {
        var root = StartRoot([Web with { RestartPolicy = Web.RestartPolicy with { Enabled = false } }]);
        ExpectStatus("web", s => s.State == ServiceState.Running);
        Tunnels.Next().Exit(1);
        ExpectStatus("web", s => s.State == ServiceState.Failed);

        var result = Apply(root, Web);

        Assert.Equal(["web"], result.Restarted);
        ExpectStatus("web", s => s.State == ServiceState.Running);
    }

    [Fact]
    public void A_reload_after_stop_new_work_is_refused()
    {
        var root = StartRoot([Web]);
        ExpectStatus("web", s => s.State == ServiceState.Running);
        root.Tell(StopNewWork.Instance, TestActor);
        FishForMessage<ForwardActor.Frozen>(_ => true, TimeSpan.FromSeconds(3));

        var result = Apply(root, Web, Db);

        Assert.False(result.Ok);
        Assert.Equal("shutting down", result.Error);
        Assert.Single(Tunnels.Started);
    }

    [Fact]
    public void A_reload_arriving_during_another_is_applied_after_it()
    {
        var root = StartRoot([Web, Db]);
        AwaitAll(root, s => s.State == ServiceState.Running);
        var db = Tunnels.Started.Single(t => t.Service == "db");
        db.HoldStop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        root.Tell(new ApplyConfig(Config(Web)), TestActor);
        AwaitCondition(() => db.StoppedGracefully, TimeSpan.FromSeconds(3));
        root.Tell(new ApplyConfig(Config(Web, Db)), TestActor);
        Assert.Equal(2, Snapshot(root).Count);
        ExpectNoMsg<ReloadResult>(TimeSpan.FromMilliseconds(300));
        db.HoldStop.SetResult();

        Assert.Equal(["db"], FishForMessage<ReloadResult>(_ => true, TimeSpan.FromSeconds(3)).Removed);
        Assert.Equal(["db"], FishForMessage<ReloadResult>(_ => true, TimeSpan.FromSeconds(3)).Added);
        ExpectStatus("db", s => s.State == ServiceState.Running);
        Assert.Equal(2, Tunnels.Started.Count(t => t.Service == "db"));
    }

    [Fact]
    public void Shutdown_beginning_mid_reload_starts_nothing_new()
    {
        var root = StartRoot([Web]);
        ExpectStatus("web", s => s.State == ServiceState.Running);
        var old = Tunnels.Next();
        old.HoldStop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        root.Tell(new ApplyConfig(Config(Web with { RemotePort = 10 }, Db)), TestActor);
        AwaitCondition(() => old.StoppedGracefully, TimeSpan.FromSeconds(3));

        root.Tell(StopNewWork.Instance, TestActor);
        Assert.Empty(FishForMessage<PhaseTargets>(_ => true, TimeSpan.FromSeconds(3)).Services);
        old.HoldStop.SetResult();

        var result = FishForMessage<ReloadResult>(_ => true, TimeSpan.FromSeconds(3));
        Assert.False(result.Ok);
        Assert.Equal("shutting down", result.Error);
        Assert.True(Tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(300)));
        Assert.All(Snapshot(root), s => Assert.Equal(ServiceState.Stopped, s.State));
    }

    private void ExpectNoMsg<T>(TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        for (var left = within; left > TimeSpan.Zero; left = deadline - DateTime.UtcNow)
        {
            var message = ReceiveOne(left);
            Assert.False(message is T, $"unexpected {message}");
        }
    }
}
