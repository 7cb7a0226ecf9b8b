using Akka.Actor;
using LocalPort.Actors.Hosting;
using LocalPort.Actors.Shutdown;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Tests.Shutdown;

public class ShutdownHoconTests
{
    private static (Func<string, string, bool> RunsBefore, CoordinatedShutdown Shutdown, ActorSystem System) Load(ShutdownTimeouts timeouts, string extra = "")
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString(extra).WithFallback(LocalPortHocon.WithTimeouts(timeouts));
        var system = ActorSystem.Create("hocon-test", config);
        var phases = system.Settings.Config.GetConfig("akka.coordinated-shutdown.phases");
        var dependsOn = phases.Root.GetObject().Items.Keys.ToDictionary(
            name => name, name => phases.GetStringList($"{name}.depends-on", []).ToList());

        // A runs before B when B depends on A, directly or through other phases.
        bool RunsBefore(string a, string b) =>
            dependsOn.TryGetValue(b, out var deps) && (deps.Contains(a) || deps.Any(d => RunsBefore(a, d)));
        return (RunsBefore, CoordinatedShutdown.Get(system), system);
    }

    [Fact]
    public void The_four_phases_run_in_order_before_cluster_leave_and_actor_system_terminate()
    {
        var (runsBefore, _, system) = Load(ShutdownTimeouts.Default);
        using (system)
        {
            for (var i = 1; i < ShutdownPhases.All.Count; i++)
                Assert.True(runsBefore(ShutdownPhases.All[i - 1], ShutdownPhases.All[i]));
            Assert.True(runsBefore("before-service-unbind", ShutdownPhases.StopNewWork));
            Assert.True(runsBefore(ShutdownPhases.ForceCleanup, "cluster-leave"));
            Assert.True(runsBefore(ShutdownPhases.ForceCleanup, "before-actor-system-terminate"));
        }
    }

    [Fact]
    public void Default_timeouts_are_2_8_15_and_5_seconds()
    {
        var (_, shutdown, system) = Load(ShutdownTimeouts.Default);
        using (system)
        {
            Assert.Equal([2, 8, 15, 5], ShutdownPhases.All.Select(p => shutdown.Timeout(p).TotalSeconds));
        }
    }

    [Fact]
    public void Timeouts_from_localport_yaml_and_from_hocon_override_the_defaults()
    {
        var fromYaml = ShutdownTimeouts.Default with { CancelTasks = TimeSpan.FromSeconds(3) };
        var (_, shutdown, system) = Load(fromYaml, "akka.coordinated-shutdown.phases.localport-force-cleanup.timeout = 1 s");
        using (system)
        {
            Assert.Equal(TimeSpan.FromSeconds(3), shutdown.Timeout(ShutdownPhases.CancelTasks));
            Assert.Equal(TimeSpan.FromSeconds(1), shutdown.Timeout(ShutdownPhases.ForceCleanup));
        }
    }
}
