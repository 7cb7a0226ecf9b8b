namespace LocalPort.Core.Config;

/// <summary>The whole validated configuration. Produced only by <see cref="ConfigLoader"/>.</summary>
public sealed record LocalPortConfig(
    string? Version,
    IReadOnlyList<ServiceSpec> Services,
    ShutdownTimeouts Shutdown,
    string? SourcePath)
{
    public IEnumerable<ServiceSpec> Enabled => Services.Where(s => s.Enabled);
    /// <summary>How kube contexts are watched (<c>defaults.cluster_health</c>, <c>cluster_contexts</c>).</summary>
    public ClusterHealthConfig ClusterHealth { get; init; } = ClusterHealthConfig.Default;
}

public enum Technology { Kubectl, Ssh, Tcp }

public sealed record ServiceSpec
{
    public required string Name { get; init; }
    public required Technology Technology { get; init; }
    public required int LocalPort { get; init; }
    public required int RemotePort { get; init; }
    public required ConnectionSpec Connection { get; init; }
    public bool Enabled { get; init; } = true;
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? Description { get; init; }
    /// <summary>Higher stops first on shutdown.</summary>
    public int Priority { get; init; }
    public required HealthCheckSpec HealthCheck { get; init; }
    public required RestartPolicy RestartPolicy { get; init; }
    /// <summary>Faults the relay injects from the start (<c>chaos:</c>); empty unless the file asks.</summary>
    public IReadOnlyList<Relay.Toxics.Toxic> Chaos { get; init; } = [];
}

public abstract record ConnectionSpec;

public sealed record KubectlConnection(
    string ResourceType,
    string ResourceName,
    string Namespace,
    string? Context,
    string? Kubeconfig,
    string? KubectlPath) : ConnectionSpec;

public sealed record SshConnection(
    string Host,
    string? User,
    int Port,
    string? KeyFile,
    Secret? Password,
    string RemoteHost,
    string? JumpHost,
    string StrictHostKeyChecking,
    IReadOnlyDictionary<string, string> Options,
    string? SshPath) : ConnectionSpec
{
    /// <summary>Share one ssh master connection with every service whose connection settings are the same (the default).</summary>
    public bool Multiplex { get; init; } = true;
    /// <summary>Keep a second authenticated master ready, so a dead or hung one is replaced without a handshake.</summary>
    public bool Standby { get; init; }
}

public sealed record TcpConnection(string Host) : ConnectionSpec;

public enum HealthCheckType { Tcp, Http, Https, Postgres, Kafka, Redis, Exec }

public sealed record HealthCheckSpec(
    HealthCheckType Type,
    bool Enabled,
    TimeSpan Interval,
    TimeSpan Timeout,
    int FailureThreshold,
    int SuccessThreshold,
    bool ClusterAware,
    HealthCheckSettings Settings)
{
    public static HealthCheckSpec Default { get; } = new(HealthCheckType.Tcp, true,
        TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), 2, 1, false, HealthCheckSettings.Empty);
}

/// <summary>Type-specific settings from <c>health_check.config</c>.</summary>
public sealed record HealthCheckSettings
{
    public static HealthCheckSettings Empty { get; } = new();
    public string? Url { get; init; }
    public string Method { get; init; } = "GET";
    public IReadOnlyList<int> ExpectedStatusCodes { get; init; } = [];
    public string? ExpectedContent { get; init; }
    public IReadOnlyDictionary<string, Secret> Headers { get; init; } = new Dictionary<string, Secret>();
    public bool VerifySsl { get; init; } = true;
    public string? Database { get; init; }
    public string? User { get; init; }
    public Secret? Password { get; init; }
    public string? SslMode { get; init; }
    public string? BootstrapServers { get; init; }
    /// <summary>exec: argument list, run without a shell.</summary>
    public IReadOnlyList<string> Command { get; init; } = [];
}

public sealed record RestartPolicy(
    bool Enabled,
    int MaxAttempts,
    TimeSpan InitialDelay,
    TimeSpan MaxDelay,
    double BackoffMultiplier,
    double Jitter,
    TimeSpan ResetAfter)
{
    public static RestartPolicy Default { get; } = new(true, 5, TimeSpan.FromSeconds(1),
        TimeSpan.FromSeconds(300), 2.0, 0.1, TimeSpan.FromSeconds(60));
}

public sealed record ShutdownTimeouts(TimeSpan StopNewWork, TimeSpan CompleteCurrent, TimeSpan CancelTasks, TimeSpan ForceCleanup)
{
    public static ShutdownTimeouts Default { get; } = new(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(8),
        TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(5));
}

/// <summary>A value that must never reach a command line, a log line or an export.</summary>
public sealed class Secret(string value)
{
    public string Reveal() => value;
    public override string ToString() => "********";
}

public enum Severity { Warning, Error }

public sealed record ConfigDiagnostic(Severity Severity, string File, int Line, int Column, string Message)
{
    public override string ToString() =>
        $"{File}:{Line}:{Column}: {(Severity == Severity.Error ? "error" : "warning")}: {Message}";
}

public sealed record ConfigLoadResult(LocalPortConfig? Config, IReadOnlyList<ConfigDiagnostic> Diagnostics)
{
    public bool Ok => Config is not null && Diagnostics.All(d => d.Severity != Severity.Error);
    public IEnumerable<ConfigDiagnostic> Errors => Diagnostics.Where(d => d.Severity == Severity.Error);
    public IEnumerable<ConfigDiagnostic> Warnings => Diagnostics.Where(d => d.Severity == Severity.Warning);
}
