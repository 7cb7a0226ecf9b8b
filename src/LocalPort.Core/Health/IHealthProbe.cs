namespace LocalPort.Core.Health;

/// <summary>One health check of one service, sent through its local port.</summary>
public interface IHealthProbe
{
    /// <summary>
    /// Runs the check once. Never throws: every failure, including cancellation by the
    /// caller's timeout, comes back as a failed <see cref="ProbeResult"/>.
    /// </summary>
    Task<ProbeResult> CheckAsync(CancellationToken cancellationToken);
}

/// <summary>The outcome of one probe; <see cref="Error"/> is short and safe to log.</summary>
public sealed record ProbeResult(bool Healthy, string? Error)
{
    public static ProbeResult Ok { get; } = new(true, null);

    public static ProbeResult Fail(string error) => new(false, error);
}
