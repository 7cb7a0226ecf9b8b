using LocalPort.Actors.ServiceManager;
using LocalPort.Actors.Services;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Tests.ServiceManager;

public sealed class ReadinessTests
{
    private static ServiceStatus Status(string name, ServiceState state, string? lastError = null) =>
        new(name, Technology.Tcp, 18000, state, null, 0, null, lastError, DateTimeOffset.Now);

    [Theory]
    [InlineData(ServiceState.Running, true)]
    [InlineData(ServiceState.BackingOff, true)]
    [InlineData(ServiceState.Failed, true)]
    [InlineData(ServiceState.WaitingForCluster, true)]
    [InlineData(ServiceState.Disabled, true)]
    [InlineData(ServiceState.Stopped, true)]
    [InlineData(ServiceState.Starting, false)]
    [InlineData(ServiceState.Stopping, false)]
    public void A_service_is_settled_once_it_serves_or_its_start_has_ended(ServiceState state, bool settled) =>
        Assert.Equal(settled, Readiness.IsSettled(Status("a", state)));

    [Fact]
    public void A_service_retried_at_once_after_its_first_failure_is_settled()
    {
        Assert.True(Readiness.IsSettled(Status("a", ServiceState.Starting, lastError: "connection refused")));
    }

    [Fact]
    public void Ready_waits_for_every_service_and_none_means_ready()
    {
        Assert.True(Readiness.AllSettled([]));
        Assert.False(Readiness.AllSettled([Status("a", ServiceState.Running), Status("b", ServiceState.Starting)]));
        Assert.True(Readiness.AllSettled([Status("a", ServiceState.Running), Status("b", ServiceState.BackingOff)]));
    }

    [Fact]
    public void The_status_line_counts_enabled_services_and_names_those_not_serving()
    {
        var line = Readiness.Describe([
            Status("web", ServiceState.Running), Status("db", ServiceState.BackingOff), Status("off", ServiceState.Disabled),
            Status("k8s", ServiceState.WaitingForCluster),
        ]);
        Assert.Equal("serving 1 of 3 services; db backing off, k8s waiting for its cluster", line);
        Assert.Equal("serving 1 of 1 service", Readiness.Describe([Status("web", ServiceState.Running)]));
    }

    [Fact]
    public void A_long_list_of_services_not_serving_is_cut_short()
    {
        var line = Readiness.Describe(Enumerable.Range(1, 8).Select(i => Status($"s{i}", ServiceState.Failed)));
        Assert.EndsWith("s5 failed and 3 more", line);
        Assert.DoesNotContain('\n', line);
    }
}
