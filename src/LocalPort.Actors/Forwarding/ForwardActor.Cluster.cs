using Akka.Actor;
using Akka.Event;
using LocalPort.Actors.Cluster;
using LocalPort.Actors.Services;
using LocalPort.Core.Cluster;

namespace LocalPort.Actors.Forwarding;

/// <summary>
/// Cluster awareness of a kubectl forward: a failure that the cluster may explain is not charged to the
/// restart policy until the cluster monitor has said the API answers. While it does not, the service is
/// WaitingForCluster (no failure counted, no backoff growing) and reconnects as soon as it is back.
/// </summary>
public sealed partial class ForwardActor
{
    /// <summary>From the root: the service's cluster became reachable or unreachable.</summary>
    public sealed record ClusterChanged(bool Reachable, string? Error);
    /// <summary>To the parent: the tunnel failed; is the cluster reachable? Answered with a <see cref="ClusterMonitor.Verdict"/>.</summary>
    public sealed record ClusterCheckNeeded(string Name, string Reason);
    /// <summary>The machine woke from a sleep: retry now what backs off, and give a failed service another go.</summary>
    public sealed class Wake { public static readonly Wake Instance = new(); private Wake() { } }

    private sealed record VerdictOverdue(int Generation);

    private const string VerdictTimer = "cluster-verdict";
    private bool? _clusterReachable;
    private string? _clusterError;
    private string? _pendingFailure;

    private string ClusterName => ClusterKey.Of(_spec)?.Name ?? "cluster";

    /// <summary>True when the failure waits for the cluster's verdict (or for the cluster) instead of being charged.</summary>
    private bool HoldForCluster(string reason)
    {
        if (!_clusterGated) return false;
        if (_clusterReachable == false)
        {
            WaitForCluster(_clusterError);
            return true;
        }
        _pendingFailure = reason;
        Timers.StartSingleTimer(VerdictTimer, new VerdictOverdue(_generation), _runtime.ClusterVerdictTimeout);
        Report(ServiceState.BackingOff);
        Context.Parent.Tell(new ClusterCheckNeeded(_spec.Name, reason));
        Become(VerifyingCluster);
        return true;
    }

    private void VerifyingCluster()
    {
        Receive<ClusterMonitor.Verdict>(verdict =>
        {
            Timers.Cancel(VerdictTimer);
            Remember(verdict.Reachable, verdict.Error);
            if (verdict.Reachable) Charge(_pendingFailure ?? "failed");
            else WaitForCluster(verdict.Error);
        });
        Receive<VerdictOverdue>(m => m.Generation == _generation, _ =>
        {
            _log.Warning("{Service}: no word from the monitor of cluster {Cluster}; counting the failure", _spec.Name, ClusterName);
            Charge(_pendingFailure ?? "failed");
        });
        CommonWhileActive();
    }

    private void WaitForCluster(string? error)
    {
        _generation++;
        Timers.Cancel(RetryTimer);
        Timers.Cancel(VerdictTimer);
        _lastError = $"waiting for cluster {ClusterName}: {error ?? "unreachable"}";
        _log.Warning("{Service}: {Reason}; no restart is counted while it is away", _spec.Name, _lastError);
        Report(ServiceState.WaitingForCluster);
        Become(WaitingForCluster);
    }

    private void WaitingForCluster()
    {
        Receive<ClusterChanged>(m =>
        {
            Remember(m.Reachable, m.Error);
            if (!m.Reachable || _frozen) return;
            _log.Info("{Service}: cluster {Cluster} is back; reconnecting", _spec.Name, ClusterName);
            StartAttempt();
        });
        CommonWhileActive();
    }

    /// <summary>Registered last by every active state: cluster news is remembered, stale answers dropped.</summary>
    private void ClusterNews()
    {
        Receive<ClusterChanged>(m => Remember(m.Reachable, m.Error));
        Receive<ClusterMonitor.Verdict>(m => Remember(m.Reachable, m.Error));
    }

    private void Remember(bool reachable, string? error)
    {
        _clusterReachable = reachable;
        _clusterError = error;
    }

    /// <summary>After a wake, whatever was waiting on a timer or had given up tries again at once.</summary>
    private void RetryAfterWake()
    {
        if (_frozen) return;
        _log.Info("{Service}: machine woke; retrying now", _spec.Name);
        Timers.Cancel(RetryTimer);
        _account.Forgive();
        StartAttempt();
    }
}
