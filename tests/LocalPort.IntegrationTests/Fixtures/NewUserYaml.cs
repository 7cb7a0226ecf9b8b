namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>
/// A localport.yaml as a new user writes it: <see cref="Yaml.File"/>, guarded so that no service can slip in a
/// <c>restart_policy</c> — the recovery tests measure the shipped defaults.
/// </summary>
public static class NewUserYaml
{
    public static string File(params string[] services)
    {
        var yaml = Yaml.File(services);
        if (yaml.Contains("restart_policy", StringComparison.Ordinal))
            throw new ArgumentException("a new user's file sets no restart_policy; use Yaml.File for tests that need one", nameof(services));
        return yaml;
    }

    /// <summary>A health_check block for <see cref="Yaml.Ssh"/>/<see cref="Yaml.Kubectl"/>.</summary>
    public static string HealthCheck(string type, TimeSpan interval, TimeSpan timeout, int failureThreshold) => $"""
        health_check:
          type: {type}
          interval: {interval.TotalMilliseconds:0}ms
          timeout: {timeout.TotalMilliseconds:0}ms
          failure_threshold: {failureThreshold}
        """;
}
