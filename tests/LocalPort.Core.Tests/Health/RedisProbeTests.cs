using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Health.ProbeTestSupport;

namespace LocalPort.Core.Tests.Health;

public sealed class RedisProbeTests
{
    [Fact]
    public async Task A_running_redis_answers_ping_and_is_healthy()
    {
        using var redis = await RedisServer.StartAsync();

        var result = await CheckAsync(Service(HealthCheckType.Redis, redis.Port));

        Assert.True(result.Healthy, result.Error);
    }

    [Fact]
    public async Task A_stopped_redis_is_unhealthy()
    {
        using var redis = await RedisServer.StartAsync();
        var service = Service(HealthCheckType.Redis, redis.Port);
        Assert.True((await CheckAsync(service)).Healthy);

        redis.Stop();
        var result = await CheckAsync(service);

        Assert.False(result.Healthy);
        Assert.Equal("connection refused", result.Error);
    }

    [Fact]
    public async Task A_password_protected_redis_refusing_ping_with_noauth_is_healthy()
    {
        using var redis = await RedisServer.StartAsync("--requirepass", "hunter2");

        var result = await CheckAsync(Service(HealthCheckType.Redis, redis.Port));

        Assert.True(result.Healthy, result.Error);
    }

    [Fact]
    public async Task A_server_that_is_not_redis_is_unhealthy()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serve = Task.Run(async () =>
        {
            using var client = await listener.AcceptSocketAsync();
            await client.SendAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray());
            await client.ReceiveAsync(new byte[64]);
        });

        var result = await CheckAsync(Service(HealthCheckType.Redis, port));
        await serve.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.False(result.Healthy);
        Assert.StartsWith("unexpected reply to PING: HTTP/1.1 400", result.Error);
    }

    [Fact]
    public async Task A_port_with_nothing_listening_is_unhealthy()
    {
        var result = await CheckAsync(Service(HealthCheckType.Redis, FreePort.Next()));

        Assert.False(result.Healthy);
        Assert.Equal("connection refused", result.Error);
    }

    [Fact]
    public async Task A_server_that_never_answers_fails_within_the_timeout()
    {
        // The kernel completes the handshake from the backlog; nobody ever reads or writes.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var timeout = TimeSpan.FromMilliseconds(500);
        var stopwatch = Stopwatch.StartNew();

        var result = await CheckAsync(Service(HealthCheckType.Redis, ((IPEndPoint)listener.LocalEndpoint).Port, timeout: timeout));

        Assert.False(result.Healthy);
        Assert.Equal("timed out after 500ms", result.Error);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, timeout + TimeSpan.FromSeconds(1));
    }
}
