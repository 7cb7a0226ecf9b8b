using System.Collections.Concurrent;
using System.ComponentModel;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Cluster;

/// <summary>
/// Where each cluster's API server listens, as kubectl resolves it (every kubeconfig merge rule included):
/// <c>kubectl config view --minify -o jsonpath={.clusters[0].cluster.server}</c>, remembered for a minute.
/// </summary>
internal sealed class ApiServerAddresses
{
    private static readonly TimeSpan RememberFor = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<ClusterKey, (Uri? Server, DateTimeOffset At)> _known = new();

    public static IReadOnlyList<string> Arguments(ClusterKey cluster)
    {
        var args = new List<string> { "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}" };
        if (cluster.Context is not null) args.AddRange(["--context", cluster.Context]);
        if (cluster.Kubeconfig is not null) args.AddRange(["--kubeconfig", cluster.Kubeconfig]);
        return args;
    }

    /// <summary>The server's URL (port filled in from the scheme), or null when kubectl cannot say.</summary>
    public async Task<Uri?> AddressAsync(ClusterKey cluster, CancellationToken cancellationToken)
    {
        if (_known.TryGetValue(cluster, out var known) && DateTimeOffset.UtcNow - known.At < RememberFor) return known.Server;
        var server = await ResolveAsync(cluster, cancellationToken);
        _known[cluster] = (server, DateTimeOffset.UtcNow);
        return server;
    }

    private static async Task<Uri?> ResolveAsync(ClusterKey cluster, CancellationToken cancellationToken)
    {
        var output = new List<string>();
        ChildProcess child;
        try
        {
            child = ChildProcess.Start(new ProcessSpec(cluster.KubectlPath ?? "kubectl", Arguments(cluster)) { OnLine = line => { lock (output) output.Add(line); } });
        }
        catch (Exception e) when (e is Win32Exception or IOException)
        {
            return null;
        }
        using (child)
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(Timeout);
            try
            {
                if (await child.Exited.WaitAsync(bounded.Token) != 0) return null;
            }
            catch (OperationCanceledException)
            {
                return null;
            }
            string text;
            lock (output) text = string.Join("", output).Trim();
            return Uri.TryCreate(text, UriKind.Absolute, out var server) && server.Scheme is "https" or "http" ? server : null;
        }
    }
}
