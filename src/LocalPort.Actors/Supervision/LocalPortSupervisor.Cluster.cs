using Akka.Actor;
using Akka.Event;
using LocalPort.Actors.Cluster;
using LocalPort.Actors.Forwarding;
using LocalPort.Actors.Health;
using LocalPort.Core.Cluster;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Supervision;

/// <summary>
/// The root's cluster awareness: one cluster-&lt;context&gt; monitor child per kube cluster its kubectl services
/// use, routing each forward's "is my cluster there?" to it and each change back to the forwards; and a
/// sleep-watcher child whose wake-up re-checks every service and cluster at once.
/// </summary>
public sealed partial class LocalPortSupervisor
{
    private sealed record WatchedCluster(IActorRef Monitor, ClusterStatus Status);

    private readonly Dictionary<ClusterKey, WatchedCluster> _clusters = [];
    private ClusterHealthConfig _clusterHealth = ClusterHealthConfig.Default;
    private IActorRef? _sleepWatcher;

    private void StartSleepWatcher() =>
        _sleepWatcher = Context.ActorOf(SleepWatcher.Props(_runtime.Clock, _runtime.SleepCheckInterval, _runtime.SleepThreshold), "sleep-watcher");

    private void ClusterHandlers()
    {
        Receive<ForwardActor.ClusterCheckNeeded>(HandleClusterCheck);
        Receive<ClusterMonitor.Probed>(HandleProbed);
        Receive<GetClusterStatus>(_ => Sender.Tell(ClusterSnapshot()));
        Receive<SleepWatcher.Woke>(HandleWoke);
    }

    /// <summary>Makes sure the service's cluster has a monitor; true for kubectl services, whose failures it then judges.</summary>
    private bool WatchCluster(ServiceSpec spec)
    {
        if (ClusterKey.Of(spec) is not { } cluster) return false;
        if (_clusters.ContainsKey(cluster)) return true;
        var settings = _clusterHealth.For(cluster.Context);
        var monitor = Context.ActorOf(ClusterMonitor.Props(cluster, settings, _runtime.ClusterProbe), MonitorName(cluster));
        _clusters[cluster] = new WatchedCluster(monitor, ClusterStatus.Initial(cluster, settings.Enabled, DateTimeOffset.Now));
        return true;
    }

    /// <summary>cluster-&lt;context&gt;, escaped where the context holds characters an actor name cannot; numbered when two kubeconfigs share a context name.</summary>
    private static string MonitorName(ClusterKey cluster)
    {
        var stem = "cluster-" + (ActorPath.IsValidPathElement(cluster.Name) ? cluster.Name : Uri.EscapeDataString(cluster.Name));
        var name = stem;
        for (var n = 2; !Context.Child(name).IsNobody(); n++) name = $"{stem}-{n}";
        return name;
    }

    private void HandleClusterCheck(ForwardActor.ClusterCheckNeeded check)
    {
        if (!_services.TryGetValue(check.Name, out var service) || !Sender.Equals(service.Forward)) return;
        if (ClusterKey.Of(service.Spec) is { } cluster && _clusters.TryGetValue(cluster, out var watched))
            watched.Monitor.Tell(new ClusterMonitor.ProbeNow($"{check.Name}: {check.Reason}"), Sender);
        else
            // No monitor (shutting down): nothing to wait for, the failure counts.
            Sender.Tell(new ClusterMonitor.Verdict(ClusterKey.Of(service.Spec) ?? new ClusterKey(null, null, null), true, null));
    }

    private void HandleProbed(ClusterMonitor.Probed probed)
    {
        if (!_clusters.TryGetValue(probed.Cluster, out var watched) || !Sender.Equals(watched.Monitor)) return;
        _clusters[probed.Cluster] = watched with { Status = probed.Status };
        if (!probed.Changed || probed.Status.State == ClusterReachability.Unknown) return;
        Context.System.EventStream.Publish(new ClusterStatusChanged(WithServices(probed.Cluster, probed.Status)));
        var news = new ForwardActor.ClusterChanged(probed.Status.State != ClusterReachability.Unreachable, probed.Status.LastError);
        foreach (var service in Started.Where(s => ClusterKey.Of(s.Spec) == probed.Cluster))
            service.Forward!.Tell(news);
    }

    private void HandleWoke(SleepWatcher.Woke woke)
    {
        if (!_acceptingWork) return;
        _log.Warning("the machine slept for about {Slept}; re-checking every cluster and service now", Durations.Format(woke.Slept));
        Context.System.EventStream.Publish(new MachineWoke(woke.Slept));
        foreach (var watched in _clusters.Values)
            watched.Monitor.Tell(new ClusterMonitor.ProbeNow("the machine woke"), ActorRefs.NoSender);
        foreach (var service in Started)
        {
            service.Health?.Tell(HealthCheckActor.CheckNow.Instance);
            service.Forward!.Tell(ForwardActor.Wake.Instance);
        }
    }

    /// <summary>A reload's cluster_health: every monitor takes its context's new settings.</summary>
    private void UpdateClusterHealth(ClusterHealthConfig config)
    {
        _clusterHealth = config;
        foreach (var (cluster, watched) in _clusters)
            watched.Monitor.Tell(new ClusterMonitor.UpdateSettings(config.For(cluster.Context)));
    }

    /// <summary>After a reload: a cluster no running service uses any more is no longer watched.</summary>
    private void PruneClusters()
    {
        var used = Started.Select(s => ClusterKey.Of(s.Spec)).OfType<ClusterKey>().ToHashSet();
        foreach (var cluster in _clusters.Keys.Where(c => !used.Contains(c)).ToList())
        {
            Context.Stop(_clusters[cluster].Monitor);
            _clusters.Remove(cluster);
        }
    }

    /// <summary>Shutdown: no more probes (an in-flight kubectl is killed) and no more wake-ups.</summary>
    private void StopWatchingClusters()
    {
        foreach (var watched in _clusters.Values) Context.Stop(watched.Monitor);
        _clusters.Clear();
        if (_sleepWatcher is not null) Context.Stop(_sleepWatcher);
        _sleepWatcher = null;
    }

    private ClusterSnapshot ClusterSnapshot() => new(_clusters
        .Select(c => WithServices(c.Key, c.Value.Status))
        .OrderBy(s => s.Context, StringComparer.Ordinal)
        .ToList());

    private ClusterStatus WithServices(ClusterKey cluster, ClusterStatus status) => status with
    {
        Services = _services.Values.Where(s => ClusterKey.Of(s.Spec) == cluster).Select(s => s.Spec.Name).Order(StringComparer.Ordinal).ToList(),
    };
}
