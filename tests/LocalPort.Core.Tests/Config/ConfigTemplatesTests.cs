using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Config;

public sealed class ConfigTemplatesTests
{
    [Fact]
    public void The_starter_config_loads_without_errors_in_an_empty_environment()
    {
        var result = Load(ConfigTemplates.Init);

        Assert.True(result.Ok, string.Join("\n", result.Diagnostics));
        Assert.All(result.Warnings, w => Assert.Contains("key_file", w.Message));
    }

    [Fact]
    public void The_starter_config_runs_a_tcp_relay_and_shows_ssh_and_kubectl()
    {
        var config = LoadValid(ConfigTemplates.Init);

        Assert.Equal([Technology.Tcp], config.Enabled.Select(s => s.Technology));
        Assert.Contains(config.Services, s => s.Technology == Technology.Ssh && !s.Enabled);
        Assert.Contains("technology: kubectl", ConfigTemplates.Init);
    }
}
