using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using LocalPort.Actors.Hosting;
using LocalPort.Actors.Shutdown;
using LocalPort.Actors.Supervision;
using LocalPort.Core;

namespace LocalPort.Hosting.Tests;

/// <summary>A clustered host (single node on loopback): LocalPort's phases run before cluster-leave, and the node leaves cleanly.</summary>
public sealed class ClusteredHostTests : Akka.Hosting.TestKit.TestKit, IDisposable
{
    private readonly TestUpstream _upstream = new();
    private readonly string _home = Directory.CreateTempSubdirectory("lp-cluster-").FullName;

    protected override void ConfigureAkka(AkkaConfigurationBuilder builder, IServiceProvider provider) => builder
        .WithRemoting("127.0.0.1", 0)
        .WithClustering()
        .WithLocalPort(new LocalPortOptions(_upstream.Config()) { Paths = new LocalPortPaths(_home, Path.Combine(_home, "run")) });

    [Fact]
    public async Task Our_phases_run_before_cluster_leave_and_the_node_leaves_cleanly()
    {
        var cluster = Cluster.Get(Sys);
        var up = new TaskCompletionSource();
        var removed = new TaskCompletionSource();
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        cluster.RegisterOnMemberRemoved(() => removed.TrySetResult());
        cluster.Join(cluster.SelfAddress);
        await up.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await ActorRegistry.GetAsync<LocalPortSupervisor>();
        Assert.True(await _upstream.EchoThroughRelayAsync());

        var order = new ConcurrentQueue<string>();
        var shutdown = CoordinatedShutdown.Get(Sys);
        foreach (var phase in new[] { ShutdownPhases.StopNewWork, ShutdownPhases.ForceCleanup, "cluster-leave", "cluster-exiting-done" })
        {
            shutdown.AddTask(phase, "test-marker", () =>
            {
                order.Enqueue(phase);
                return Task.FromResult(Akka.Done.Instance);
            });
        }

        await shutdown.Run(CoordinatedShutdown.ClrExitReason.Instance);

        await removed.Task.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal([ShutdownPhases.StopNewWork, ShutdownPhases.ForceCleanup, "cluster-leave", "cluster-exiting-done"], order);
        Assert.True(cluster.IsTerminated);
    }

    public new void Dispose()
    {
        _upstream.Dispose();
        try { Directory.Delete(_home, recursive: true); } catch (IOException) { }
    }
}
