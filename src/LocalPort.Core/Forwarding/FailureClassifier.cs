namespace LocalPort.Core.Forwarding;

/// <summary>Turns kubectl/ssh output into a last_error a user can act on.</summary>
public static class FailureClassifier
{
    // First match wins: the specific kubectl and ssh phrases come before the generic ones.
    private static readonly (string Needle, string Meaning)[] Rules =
    [
        ("lost connection to pod", "pod gone"),
        ("pod is not running", "pod gone"),
        ("network namespace for sandbox", "pod gone"),
        ("was refused - did you specify the right host or port", "cluster unreachable"),
        ("Unable to connect to the server", "cluster unreachable"),
        ("TLS handshake timeout", "cluster unreachable (TLS handshake timeout)"),
        ("no such host", "cluster unreachable (host name not resolved)"),
        ("connection refused", "unreachable (connection refused)"),
        ("Connection refused", "unreachable (connection refused)"),
        ("i/o timeout", "cluster unreachable (timeout)"),
        ("Connection timed out", "unreachable (timeout)"),
        ("address already in use", "port in use"),
        ("Address already in use", "port in use"),
        ("unable to listen on any of the requested ports", "port in use"),
        ("You must be logged in", "authentication failed"),
        ("Unauthorized", "authentication failed"),
        ("getting credentials", "authentication failed (credential plugin)"),
        ("Forbidden", "not authorised"),
        ("is forbidden", "not authorised"),
        ("certificate signed by unknown authority", "cluster certificate not trusted"),
        ("x509:", "cluster certificate problem"),
        ("does not exist", "not found (check context and kubeconfig)"),
        ("NotFound", "pod or service not found"),
        ("not found", "not found"),
        ("Permission denied", "authentication failed"),
        ("Host key verification failed", "host key verification failed"),
        ("REMOTE HOST IDENTIFICATION HAS CHANGED", "host key changed"),
        ("Could not resolve hostname", "host name not resolved"),
        ("executable file not found", "executable not found"),
    ];

    public static string Classify(string output)
    {
        // Whatever the source, a terminal escape in a child's words must not reach status or the logs.
        output = ControlCharacters.Strip(output);
        if (string.IsNullOrWhiteSpace(output)) return "no output";
        foreach (var (needle, meaning) in Rules)
            if (output.Contains(needle, StringComparison.Ordinal))
                return $"{meaning}: {Trim(output)}";
        return Trim(output);
    }

    private static string Trim(string output) => output.Length > 300 ? output[..300] + "…" : output;
}
