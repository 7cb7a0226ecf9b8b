using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Cluster;

public sealed class ClusterHealthParsingTests
{
    [Fact]
    public void Without_cluster_health_every_context_is_watched_with_the_defaults()
    {
        var config = LoadValid("services:\n" + TcpService());

        Assert.Equal(ClusterHealthSpec.Default, config.ClusterHealth.For("any"));
        Assert.Equal(ClusterHealthSpec.Default, config.ClusterHealth.For(null));
        Assert.True(ClusterHealthSpec.Default.Enabled);
        Assert.Equal(TimeSpan.FromMilliseconds(500), ClusterHealthSpec.Default.UnreachableInterval);
    }

    [Fact]
    public void Defaults_are_read_and_a_context_overrides_them_key_by_key()
    {
        var config = LoadValid($$"""
            defaults:
              cluster_health:
                enabled: true
                interval: 240
                timeout: 30
                retry_attempts: 2
                failure_threshold: 3
                commands: {cluster_info: true, pod_status: true}
            cluster_contexts:
              production:
                cluster_health: {interval: 2m}
              lab:
                cluster_health: {enabled: false}
            services:
            {{TcpService()}}
            """);

        var defaults = new ClusterHealthSpec(true, TimeSpan.FromMinutes(4), TimeSpan.FromSeconds(30), 3);
        Assert.Equal(defaults, config.ClusterHealth.For("staging"));
        Assert.Equal(defaults with { Interval = TimeSpan.FromMinutes(2) }, config.ClusterHealth.For("production"));
        Assert.Equal(defaults with { Enabled = false }, config.ClusterHealth.For("lab"));
    }

    [Fact]
    public void A_bad_value_is_an_error_at_its_line_and_an_unknown_key_a_warning()
    {
        var result = Load($$"""
            defaults:
              cluster_health:
                interval: soon
                intervall: 5s
            services:
            {{TcpService()}}
            """);

        Assert.False(result.Ok);
        Assert.Equal(3, Error(result, "defaults.cluster_health.interval: 'soon' is not a duration").Line);
        Assert.Contains("did you mean 'interval'?", Warning(result, "unknown key 'intervall'").Message);
    }

    [Fact]
    public void Cluster_health_survives_an_export_and_reload()
    {
        var original = LoadValid($$"""
            defaults:
              cluster_health: {interval: 1m, failure_threshold: 2}
            cluster_contexts:
              lab:
                cluster_health: {enabled: false}
            services:
            {{TcpService()}}
            """);

        var reloaded = LoadValid(ConfigExporter.ToYaml(original));

        Assert.Equal(original.ClusterHealth.Defaults, reloaded.ClusterHealth.Defaults);
        Assert.Equal(original.ClusterHealth.For("lab"), reloaded.ClusterHealth.For("lab"));
    }
}
