using System.Net;
using System.Text.RegularExpressions;
using LocalPort.Core.Config;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Forwarding;

/// <summary>kubectl port-forward on a port kubectl picks itself; ready on its "Forwarding from" line.</summary>
public sealed partial class KubectlTunnel : ProcessTunnel
{
    [GeneratedRegex(@"^Forwarding from 127\.0\.0\.1:(\d+) ->")]
    private static partial Regex ForwardingLine();

    public KubectlTunnel(ServiceSpec service, KubectlConnection connection, string? logPath, ResourceLedger? ledger = null)
    {
        Launch(new ProcessSpec(connection.KubectlPath ?? "kubectl", TunnelCommands.Kubectl(connection, service.RemotePort))
        {
            LogPath = logPath,
            Ledger = ledger,
        });
    }

    public override string DescribeFailure() => FailureClassifier.Classify(KubectlOutput.Summary(Child.TailLines));

    protected override void OnLine(string line)
    {
        var match = ForwardingLine().Match(line);
        if (match.Success && int.TryParse(match.Groups[1].Value, out var port))
            ReadySource.TrySetResult(new IPEndPoint(IPAddress.Loopback, port));
    }
}
