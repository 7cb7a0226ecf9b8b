using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Cluster;

/// <summary>
/// <c>kubectl [--context C] [--kubeconfig K] get --raw /readyz --request-timeout=T</c>: one small request that
/// goes through the same kubeconfig, proxy and credentials as the port-forwards, in about a third of a second.
/// An API that answers but refuses the credentials is reachable: waiting would not help those services.
/// </summary>
public sealed class KubectlClusterProbe(ResourceLedger? ledger = null) : IClusterProbe
{
    /// <summary>kubectl itself may take a moment to start and give up; it is killed this long after the timeout.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    private static readonly string[] AnsweredButRefused = ["Unauthorized", "Forbidden", "You must be logged in"];

    private readonly ApiServerAddresses _servers = new();

    public static IReadOnlyList<string> Arguments(ClusterKey cluster, TimeSpan timeout)
    {
        var args = new List<string>
        {
            "get", "--raw", "/readyz",
            $"--request-timeout={Math.Max(1, (long)timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}ms",
        };
        if (cluster.Context is not null) args.AddRange(["--context", cluster.Context]);
        if (cluster.Kubeconfig is not null) args.AddRange(["--kubeconfig", cluster.Kubeconfig]);
        return args;
    }

    public async Task<bool> AcceptsConnectionsAsync(ClusterKey cluster, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (await _servers.AddressAsync(cluster, cancellationToken) is not { } server) return false;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(server.DnsSafeHost, server.Port, bounded.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    public async Task<ClusterProbeResult> ProbeAsync(ClusterKey cluster, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        ChildProcess child;
        try
        {
            child = ChildProcess.Start(new ProcessSpec(cluster.KubectlPath ?? "kubectl", Arguments(cluster, timeout)) { Ledger = ledger });
        }
        catch (Exception e) when (e is Win32Exception or IOException)
        {
            return ClusterProbeResult.Down($"cannot run {cluster.KubectlPath ?? "kubectl"}: {e.Message}", clock.Elapsed);
        }
        using (child)
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(timeout + Grace);
            int code;
            try
            {
                code = await child.Exited.WaitAsync(bounded.Token);
            }
            catch (OperationCanceledException)
            {
                return ClusterProbeResult.Down($"cluster unreachable: no answer within {timeout.TotalSeconds:0.#}s", clock.Elapsed);
            }
            if (code == 0) return ClusterProbeResult.Up(clock.Elapsed);
            var said = KubectlOutput.Summary(child.TailLines);
            return AnsweredButRefused.Any(needle => said.Contains(needle, StringComparison.Ordinal))
                ? ClusterProbeResult.Up(clock.Elapsed, FailureClassifier.Classify(said))
                : ClusterProbeResult.Down(FailureClassifier.Classify(said), clock.Elapsed);
        }
    }
}
