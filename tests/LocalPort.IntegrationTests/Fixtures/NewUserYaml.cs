namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>
/// A localport.yaml as a new user writes it: no <c>defaults</c>, no <c>restart_policy</c>, so the shipped
/// defaults are what is tested. (<see cref="Yaml.File"/> sets quick restarts; recovery tests must not.)
/// Compose services with <see cref="Yaml.Ssh"/>, <see cref="Yaml.Kubectl"/> and <see cref="Yaml.Tcp"/> without their restartPolicy.
/// </summary>
public static class NewUserYaml
{
    public static string File(params string[] services)
    {
        var yaml = "version: \"1.0\"\nservices:\n" + string.Join("\n", services) + "\n";
        if (yaml.Contains("restart_policy", StringComparison.Ordinal))
            throw new ArgumentException("a new user's file sets no restart_policy; use Yaml.File for tests that tune it", nameof(services));
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
