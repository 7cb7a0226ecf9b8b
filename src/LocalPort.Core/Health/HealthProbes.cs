using LocalPort.Core.Config;

namespace LocalPort.Core.Health;

public static class HealthProbes
{
    /// <summary>
    /// Builds the probe for a service. It talks to 127.0.0.1:local_port, because LocalPort
    /// itself listens there and relays to the tunnel: that is the path clients use. A tcp check of a port this
    /// process's relay serves has the relay make a client's dial instead (<see cref="TcpProbe"/>).
    /// </summary>
    public static IHealthProbe Create(ServiceSpec service)
    {
        ArgumentNullException.ThrowIfNull(service);
        var check = service.HealthCheck;
        return check.Type switch
        {
            HealthCheckType.Tcp => new TcpProbe(service.LocalPort, check.Timeout),
            HealthCheckType.Http => new HttpProbe(service.LocalPort, check.Timeout, check.Settings, https: false),
            HealthCheckType.Https => new HttpProbe(service.LocalPort, check.Timeout, check.Settings, https: true),
            HealthCheckType.Postgres => new PostgresProbe(service.LocalPort, check.Timeout, check.Settings),
            HealthCheckType.Redis => new RedisProbe(service.LocalPort, check.Timeout),
            HealthCheckType.Kafka => new KafkaProbe(service.LocalPort, check.Timeout),
            HealthCheckType.Exec => new ExecProbe(service.Name, service.LocalPort, check.Timeout, check.Settings.Command),
            _ => throw new ArgumentOutOfRangeException(nameof(service), check.Type, "unknown health check type"),
        };
    }
}
