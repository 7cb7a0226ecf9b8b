namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>
/// An executable that keeps kubectl's port-forward contract, for `kubectl_path:`. A real cluster
/// cannot run here (no container runtime, no kind/k3s); exercising the real kubectl against a test
/// API server is a later issue. Until then this stand-in proves LocalPort's side of the contract:
/// the argument list it passes, readiness on the "Forwarding from" line, and the port it reads there.
///
/// Like kubectl it listens on a port of its own choosing on 127.0.0.1 (socat picks it: TCP-LISTEN:0),
/// prints both "Forwarding from" lines only once it listens, and relays each connection to the
/// upstream. Every invocation's arguments are appended to <see cref="ArgumentsLog"/>.
/// </summary>
public sealed class KubectlStandIn
{
    public string Path { get; }
    public string ArgumentsLog { get; }

    public KubectlStandIn(string directory, int upstreamPort)
    {
        Path = System.IO.Path.Combine(directory, "kubectl-stand-in");
        ArgumentsLog = System.IO.Path.Combine(directory, "kubectl-stand-in.args");
        File.WriteAllText(Path, $$"""
            #!/usr/bin/env bash
            # kubectl port-forward stand-in written by LocalPort's integration tests (see KubectlStandIn.cs).
            set -euo pipefail
            # LocalPort's cluster monitor asks `get --raw /readyz`: the stand-in's cluster is always there.
            if [[ "${1:-}" == "get" ]]; then echo ok; exit 0; fi
            printf '%s\n' "$*" >> '{{ArgumentsLog}}'
            if [[ "${1:-}" != "port-forward" ]]; then echo "error: the stand-in only does port-forward" >&2; exit 1; fi
            remote=""
            for arg in "$@"; do
              if [[ "$arg" == :* ]]; then remote="${arg#:}"; fi
            done
            # socat reports the port it got ("listening on AF=2 127.0.0.1:NNNN") once it listens.
            exec 3< <(exec socat -d -d TCP-LISTEN:0,bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:{{upstreamPort}} 2>&1)
            port=""
            while IFS= read -r line <&3; do
              if [[ "$line" =~ listening\ on\ .*:([0-9]+)$ ]]; then port="${BASH_REMATCH[1]}"; break; fi
            done
            if [[ -z "$port" ]]; then echo "error: socat did not start" >&2; exit 1; fi
            echo "Forwarding from 127.0.0.1:$port -> $remote"
            echo "Forwarding from [::1]:$port -> $remote"
            # Keep draining socat's log; when socat goes, so does the "kubectl".
            cat <&3 > /dev/null

            """);
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public IReadOnlyList<string> Invocations => File.Exists(ArgumentsLog) ? File.ReadAllLines(ArgumentsLog) : [];
}
