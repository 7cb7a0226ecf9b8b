using System.Net;
using LocalPort.Core.Config;

namespace LocalPort.Core.Forwarding;

/// <summary>One running tunnel: a kubectl or ssh child on a private endpoint, or the tcp upstream itself.</summary>
public interface ITunnel
{
    /// <summary>Completes with the endpoint to relay to once the tunnel carries traffic; faults if it never does.</summary>
    Task<EndPoint> Ready { get; }
    /// <summary>Completes with the exit code when the tunnel is gone.</summary>
    Task<int> Exited { get; }
    int? Pid { get; }
    /// <summary>True while the tunnel's process is stopped (SIGSTOP/traced): alive, but it cannot carry traffic.</summary>
    bool IsSuspended { get; }
    /// <summary>Why it failed, in a user's words (classified child output).</summary>
    string DescribeFailure();
    /// <summary>Graceful stop: SIGTERM, then (unless told not to) SIGKILL after the grace period.</summary>
    Task StopAsync(TimeSpan grace, bool killAfterGrace = true);
    /// <summary>Immediate SIGKILL (used for hung tunnels).</summary>
    void Kill();
}

public interface ITunnelFactory
{
    ITunnel Start(ServiceSpec service);
}
