using LocalPort.Core.Config;
using LocalPort.Core.Health;

namespace LocalPort.Core.Tests.Health;

internal static class ProbeTestSupport
{
    public static ServiceSpec Service(
        HealthCheckType type,
        int port,
        HealthCheckSettings? settings = null,
        TimeSpan? timeout = null,
        string name = "svc") => new()
    {
        Name = name,
        Technology = Technology.Tcp,
        LocalPort = port,
        RemotePort = port,
        Connection = new TcpConnection("127.0.0.1"),
        HealthCheck = HealthCheckSpec.Default with
        {
            Type = type,
            Timeout = timeout ?? TimeSpan.FromSeconds(2),
            Settings = settings ?? HealthCheckSettings.Empty,
        },
        RestartPolicy = RestartPolicy.Default,
    };

    /// <summary>Runs a probe the way the supervisor does: the timeout is a cancelled token.</summary>
    public static async Task<ProbeResult> CheckAsync(ServiceSpec service)
    {
        var probe = HealthProbes.Create(service);
        try
        {
            using var timeout = new CancellationTokenSource(service.HealthCheck.Timeout);
            return await probe.CheckAsync(timeout.Token);
        }
        finally
        {
            (probe as IDisposable)?.Dispose();
        }
    }
}
