namespace LocalPort.Core.Forwarding;

/// <summary>Turns kubectl/ssh output into a last_error a user can act on.</summary>
public static class FailureClassifier
{
    private static readonly (string Needle, string Meaning)[] Rules =
    [
        ("lost connection to pod", "pod gone"),
        ("pod is not running", "pod gone"),
        ("NotFound", "pod or service not found"),
        ("not found", "not found"),
        ("Unable to connect to the server", "cluster unreachable"),
        ("connection refused", "unreachable (connection refused)"),
        ("Connection refused", "unreachable (connection refused)"),
        ("i/o timeout", "cluster unreachable (timeout)"),
        ("Connection timed out", "unreachable (timeout)"),
        ("address already in use", "port in use"),
        ("Address already in use", "port in use"),
        ("Unauthorized", "authentication failed"),
        ("Forbidden", "not authorised"),
        ("You must be logged in", "authentication failed"),
        ("Permission denied", "authentication failed"),
        ("Host key verification failed", "host key verification failed"),
        ("REMOTE HOST IDENTIFICATION HAS CHANGED", "host key changed"),
        ("Could not resolve hostname", "host name not resolved"),
        ("executable file not found", "executable not found"),
    ];

    public static string Classify(string output)
    {
        if (string.IsNullOrWhiteSpace(output)) return "no output";
        foreach (var (needle, meaning) in Rules)
            if (output.Contains(needle, StringComparison.Ordinal))
                return $"{meaning}: {Trim(output)}";
        return Trim(output);
    }

    private static string Trim(string output) => output.Length > 300 ? output[..300] + "…" : output;
}
