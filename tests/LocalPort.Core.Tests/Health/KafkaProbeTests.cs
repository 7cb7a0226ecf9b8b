using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Health.ProbeTestSupport;

namespace LocalPort.Core.Tests.Health;

// A real Kafka broker cannot run on this machine (no JVM Kafka package is available),
// so these tests use FakeKafkaBroker, a protocol-level stand-in on real loopback TCP.
public sealed class KafkaProbeTests
{
    [Fact]
    public async Task A_broker_that_answers_api_versions_is_healthy()
    {
        await using var broker = FakeKafkaBroker.Answering();

        var result = await CheckAsync(Service(HealthCheckType.Kafka, broker.Port));

        Assert.True(result.Healthy, result.Error);
    }

    [Fact]
    public async Task The_request_is_api_versions_v0_from_client_localport()
    {
        await using var broker = FakeKafkaBroker.Answering();

        await CheckAsync(Service(HealthCheckType.Kafka, broker.Port));

        var request = Assert.Single(broker.Requests);
        Assert.Equal(18, request.ApiKey);
        Assert.Equal(0, request.ApiVersion);
        Assert.Equal("localport", request.ClientId);
    }

    [Fact]
    public async Task A_broker_that_rejects_the_version_still_proves_it_is_alive()
    {
        await using var broker = FakeKafkaBroker.Answering(errorCode: 35);

        var result = await CheckAsync(Service(HealthCheckType.Kafka, broker.Port));

        Assert.True(result.Healthy, result.Error);
    }

    [Fact]
    public async Task Any_other_error_code_is_unhealthy()
    {
        await using var broker = FakeKafkaBroker.Answering(errorCode: 1);

        var result = await CheckAsync(Service(HealthCheckType.Kafka, broker.Port));

        Assert.False(result.Healthy);
        Assert.Equal("Kafka ApiVersions error code 1", result.Error);
    }

    [Fact]
    public async Task A_response_with_another_correlation_id_is_unhealthy()
    {
        await using var broker = FakeKafkaBroker.Answering(correlation: id => id + 1);

        var result = await CheckAsync(Service(HealthCheckType.Kafka, broker.Port));

        Assert.False(result.Healthy);
        Assert.Contains("correlation id mismatch", result.Error);
    }

    [Fact]
    public async Task A_server_that_answers_garbage_is_unhealthy()
    {
        await using var broker = FakeKafkaBroker.AnsweringRaw(Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\n\r\n"));

        var result = await CheckAsync(Service(HealthCheckType.Kafka, broker.Port));

        Assert.False(result.Healthy);
        Assert.StartsWith("not a Kafka response", result.Error);
    }

    [Fact]
    public async Task A_port_with_nothing_listening_is_unhealthy()
    {
        var result = await CheckAsync(Service(HealthCheckType.Kafka, FreePort.Next()));

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

        var result = await CheckAsync(Service(HealthCheckType.Kafka, ((IPEndPoint)listener.LocalEndpoint).Port, timeout: timeout));

        Assert.False(result.Healthy);
        Assert.Equal("timed out after 500ms", result.Error);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, timeout + TimeSpan.FromSeconds(1));
    }
}
