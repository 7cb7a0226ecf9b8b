using System.CommandLine;
using LocalPort.Cli.Common;
using LocalPort.Control;
using LocalPort.Cli.Daemon;
using LocalPort.Core.Cluster;
using LocalPort.Core.Config;
using Spectre.Console;

namespace LocalPort.Cli.Commands;

/// <summary>
/// `localport cluster status [--context C]`: what the running LocalPort's cluster monitors know. With nothing
/// running, the contexts of the configuration's kubectl services are probed once, now. Exit 0 when no
/// cluster shown is unreachable, 1 when one is, 2 for an unknown --context.
/// </summary>
public static class ClusterCommand
{
    private static readonly Option<string[]> Contexts = new("--context") { Description = "Only this kube context (repeatable)" };

    public static Command Create()
    {
        var status = new Command("status", "Is each kube context's API reachable? Probe times, last error, and the services that use it");
        status.Options.Add(Contexts);
        status.SetAction((parse, token) => StatusAsync(parse, token));
        var cluster = new Command("cluster", "Kubernetes clusters used by kubectl services");
        cluster.Subcommands.Add(status);
        return cluster;
    }

    private static async Task<int> StatusAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var only = parse.GetValue(Contexts) ?? [];
        using var client = DaemonLauncher.Client(DaemonCommands.Paths);
        IReadOnlyList<ClusterView> clusters;
        string source;
        if (await client.IsAliveAsync(cancellationToken))
        {
            var query = string.Join("&", only.Select(c => $"context={Uri.EscapeDataString(c)}"));
            var (code, body) = await client.GetAsync($"v1/clusters?{query}", cancellationToken);
            if (code != 200)
            {
                Console.Error.WriteLine($"error: the running LocalPort answered {code}: {body}");
                return ExitCodes.Failure;
            }
            clusters = ApiJson.Deserialize<ClustersView>(body)!.Clusters;
            source = "monitored by the running LocalPort";
        }
        else
        {
            var config = ConfigResolver.Load(parse, Console.Error);
            if (config is null) return ExitCodes.UsageOrConfig;
            clusters = await ProbeNowAsync(config, only, cancellationToken);
            source = "probed now (LocalPort is not running)";
        }

        var unknown = only.Where(c => clusters.All(v => v.Context != c)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"error: no kubectl service uses context {string.Join(", ", unknown)}");
            return ExitCodes.UsageOrConfig;
        }
        Print(parse.GetValue(GlobalOptions.Output), clusters, source);
        return clusters.Any(c => c.State == "unreachable") ? ExitCodes.Failure : ExitCodes.Ok;
    }

    /// <summary>One probe per cluster of the configuration's enabled kubectl services, all at once.</summary>
    private static async Task<IReadOnlyList<ClusterView>> ProbeNowAsync(LocalPortConfig config, IReadOnlyCollection<string> only, CancellationToken cancellationToken)
    {
        var probe = new KubectlClusterProbe();
        var clusters = config.Enabled
            .Select(s => (Service: s.Name, Cluster: ClusterKey.Of(s)))
            .Where(x => x.Cluster is not null && (only.Count == 0 || only.Contains(x.Cluster.Name)))
            .GroupBy(x => x.Cluster!)
            .ToList();
        var views = await Task.WhenAll(clusters.Select(async group =>
        {
            var settings = config.ClusterHealth.For(group.Key.Context);
            var services = group.Select(x => x.Service).Order(StringComparer.Ordinal).ToList();
            var now = DateTimeOffset.Now;
            if (!settings.Enabled)
                return new ClusterView(group.Key.Name, group.Key.Kubeconfig, "not-watched", now, null, null, null, 0, 0, services);
            var result = await probe.ProbeAsync(group.Key, settings.Timeout, cancellationToken);
            return new ClusterView(group.Key.Name, group.Key.Kubeconfig, result.Reachable ? "reachable" : "unreachable", now, now,
                Math.Round(result.Latency.TotalMilliseconds, 1), result.Error, result.Reachable ? 0 : 1, 1, services);
        }));
        return views.OrderBy(v => v.Context, StringComparer.Ordinal).ToList();
    }

    private static void Print(OutputFormat format, IReadOnlyList<ClusterView> clusters, string source)
    {
        if (format == OutputFormat.Json)
        {
            Console.WriteLine(ApiJson.Serialize(new ClustersView(clusters)));
            return;
        }
        if (clusters.Count == 0)
        {
            Console.WriteLine("no kubectl services, so no clusters to watch");
            return;
        }
        if (format == OutputFormat.Text || Console.IsOutputRedirected)
        {
            foreach (var c in clusters) Console.WriteLine(Line(c));
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(source))
            .AddColumns("Context", "State", "Since", "Last probe", "Services", "Last error");
        foreach (var c in clusters)
        {
            var colour = c.State switch { "reachable" => "green", "unreachable" => "red", _ => "grey" };
            table.AddRow(Markup.Escape(c.Context), $"[{colour}]{c.State}[/]", c.Since.ToLocalTime().ToString("HH:mm:ss"),
                c.LastProbeAt is { } at ? $"{at.ToLocalTime():HH:mm:ss} ({c.LastProbeMs:0} ms)" : "-",
                Markup.Escape(string.Join(", ", c.Services)), Markup.Escape(c.LastError ?? ""));
        }
        AnsiConsole.Write(table);
    }

    public static string Line(ClusterView c) =>
        $"{c.Context,-20} {c.State,-11} since={c.Since.ToLocalTime():HH:mm:ss} " +
        $"probe={(c.LastProbeMs is { } ms ? $"{ms:0}ms" : "-")} services={string.Join(",", c.Services)}" +
        (c.LastError is null ? "" : $" error=\"{c.LastError}\"");
}
