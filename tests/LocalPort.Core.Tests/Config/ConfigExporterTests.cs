using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Config;

public sealed class ConfigExporterTests
{
    private const string Rich = """
        version: "1.0"
        defaults:
          health_check:
            interval: 15
            timeout: 2.5
          restart_policy:
            max_attempts: 3
        shutdown:
          cancel_tasks: 500ms
        services:
          - name: db
            technology: ssh
            local_port: 5432
            remote_port: 5432
            description: "Costs $$5: \"quoted\" # not a comment"
            tags: [database, "yes", "123"]
            priority: 3
            connection:
              host: bastion
              user: deploy
              password: ${SSH_PASSWORD}
              jump_host: jump
              options: {ServerAliveInterval: 15, Compression: "yes"}
            health_check:
              type: postgres
              config: {database: app, user: reader, password: pg-secret, sslmode: require}
          - name: api
            technology: kubectl
            local_port: 8080
            remote_port: 80
            enabled: false
            connection: {resource_type: deployment, resource_name: api, namespace: prod, context: "null", kubeconfig: /etc/kube}
            health_check:
              type: http
              cluster_aware: true
              success_threshold: 2
              config:
                url: http://localhost:8080/health
                method: HEAD
                expected_status: 204
                expected_content: "~"
                verify_ssl: false
                headers: {Authorization: "Bearer header-secret"}
            restart_policy: {enabled: false, max_attempts: 0, jitter: 0.25, backoff_multiplier: 1.5, reset_after: 2m}
          - name: probe
            technology: tcp
            local_port: 9000
            remote_port: 9000
            connection: {host: 10.0.0.5}
            health_check:
              type: exec
              config: {command: "check --flag 'two words' $$HOME"}
          - name: kafka
            technology: kubectl
            local_port: 9092
            remote_port: 9092
            connection: {resource_name: kafka}
            health_check: {type: kafka, timeout: 0.0000001, config: {bootstrap_servers: "localhost:9092"}}
        """;

    private static readonly Dictionary<string, string> Env = new() { ["SSH_PASSWORD"] = "ssh-secret" };

    [Fact]
    public void Every_secret_is_masked_in_the_export()
    {
        var yaml = ConfigExporter.ToYaml(LoadValid(Rich, Env));

        Assert.DoesNotContain("ssh-secret", yaml);
        Assert.DoesNotContain("pg-secret", yaml);
        Assert.DoesNotContain("header-secret", yaml);
        Assert.Equal(3, yaml.Split("\"********\"").Length - 1);
    }

    [Fact]
    public void An_export_loads_back_to_the_same_config_except_for_secrets()
    {
        var original = LoadValid(Rich, Env);

        var reloaded = LoadValid(ConfigExporter.ToYaml(original));

        AssertEquivalent(original, reloaded, (_, masked) => masked.Reveal() == ConfigExporter.Mask);
    }

    [Fact]
    public void Exporting_is_stable_across_a_round_trip()
    {
        var once = ConfigExporter.ToYaml(LoadValid(Rich, Env));

        Assert.Equal(once, ConfigExporter.ToYaml(LoadValid(once)));
    }

    [Fact]
    public void Defaults_are_written_into_each_service_and_durations_keep_their_units()
    {
        var yaml = ConfigExporter.ToYaml(LoadValid(Rich, Env));

        Assert.DoesNotContain("defaults:", yaml);
        Assert.Contains("interval: 15s", yaml);
        Assert.Contains("timeout: 2500ms", yaml);
        Assert.Contains("cancel_tasks: 500ms", yaml);
        Assert.Contains("max_attempts: 3", yaml);
    }

    [Fact]
    public void The_starter_template_round_trips()
    {
        var original = LoadValid(ConfigTemplates.Init);

        AssertEquivalent(original, LoadValid(ConfigExporter.ToYaml(original)), (_, masked) => masked.Reveal() == ConfigExporter.Mask);
    }

    [Fact]
    public void The_json_export_is_valid_json_that_loads_back_to_the_same_config()
    {
        var original = LoadValid(Rich, Env);

        var json = ConfigExporter.ToJson(original);

        using var document = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal(4, document.RootElement.GetProperty("services").GetArrayLength());
        Assert.Equal(5432, document.RootElement.GetProperty("services")[0].GetProperty("local_port").GetInt32());
        Assert.Equal("15s", document.RootElement.GetProperty("services")[0].GetProperty("health_check").GetProperty("interval").GetString());
        Assert.DoesNotContain("ssh-secret", json);
        AssertEquivalent(original, LoadValid(json), (_, masked) => masked.Reveal() == ConfigExporter.Mask);
    }

    [Fact]
    public void Without_defaults_the_export_leaves_out_default_values_and_still_loads_back_the_same()
    {
        var original = LoadValid(Rich, Env);

        var yaml = ConfigExporter.ToYaml(original, includeDefaults: false);

        Assert.DoesNotContain("force_cleanup", yaml);
        Assert.DoesNotContain("success_threshold: 1", yaml);
        Assert.DoesNotContain("priority: 0", yaml);
        Assert.Contains("cancel_tasks: 500ms", yaml);
        Assert.Contains("max_attempts: 3", yaml);
        Assert.True(yaml.Length < ConfigExporter.ToYaml(original).Length / 2 + 600, yaml);
        AssertEquivalent(original, LoadValid(yaml), (_, masked) => masked.Reveal() == ConfigExporter.Mask);
    }
}
