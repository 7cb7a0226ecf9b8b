using LocalPort.Core.Config;
using LocalPort.Core.Relay.Toxics;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Config;

public sealed class ChaosParsingTests
{
    private static string WithChaos(string chaos) => "services:\n" + TcpService(extra: "    chaos:\n" + chaos);

    [Fact]
    public void A_service_without_chaos_has_no_toxics()
    {
        Assert.Empty(OnlyService("services:\n" + TcpService()).Chaos);
    }

    [Fact]
    public void Toxics_are_read_with_their_attributes_written_flat_or_under_attributes()
    {
        var chaos = OnlyService(WithChaos("""
                  - type: latency
                    latency: 200ms
                    jitter: 20ms
                  - name: thin-pipe
                    type: bandwidth
                    stream: upstream
                    toxicity: 0.5
                    attributes: {rate: 100}
                  - type: down
            """)).Chaos;

        Assert.Equal(
        [
            new Toxic { Name = "latency_downstream", Type = ToxicType.Latency, Latency = TimeSpan.FromMilliseconds(200), Jitter = TimeSpan.FromMilliseconds(20) },
            new Toxic { Name = "thin-pipe", Type = ToxicType.Bandwidth, Stream = ToxicStream.Upstream, Toxicity = 0.5, RateKilobytes = 100 },
            new Toxic { Name = "down", Type = ToxicType.Down },
        ], chaos);
    }

    [Fact]
    public void A_bare_number_in_a_toxic_is_milliseconds_as_in_toxiproxy()
    {
        var toxic = Assert.Single(OnlyService(WithChaos("      - {type: reset_peer, timeout: 1500}\n")).Chaos);

        Assert.Equal(TimeSpan.FromMilliseconds(1500), toxic.Timeout);
    }

    [Theory]
    [InlineData("{type: lag}", "chaos[0].type: 'lag' is not a toxic type; use one of latency, bandwidth")]
    [InlineData("{type: latency, latency: 1s, stream: sideways}", "chaos[0].stream: 'sideways' is not a stream")]
    [InlineData("{type: down, toxicity: 1.5}", "chaos[0].toxicity: '1.5' is not a probability")]
    [InlineData("{type: latency}", "chaos[0]: a latency toxic needs 'latency'")]
    [InlineData("{type: latency, latency: soon}", "chaos[0].latency: 'soon' is not a duration")]
    [InlineData("{type: slicer, average_size: 10, size_variation: 10}", "size_variation 10 must be smaller than average_size 10")]
    [InlineData("{stream: upstream}", "chaos[0].type is missing")]
    public void A_bad_toxic_is_an_error_at_its_line_and_column(string toxic, string message)
    {
        var error = Error(Load(WithChaos($"      - {toxic}\n")), message);

        Assert.Equal(9, error.Line);
    }

    [Fact]
    public void Two_toxics_with_one_name_are_an_error()
    {
        var result = Load(WithChaos("""
                  - {type: latency, latency: 1s}
                  - {type: latency, latency: 2s}
            """));

        var error = Error(result, "a toxic named 'latency_downstream' is already defined at line 9");
        Assert.Equal(10, error.Line);
    }

    [Fact]
    public void An_attribute_another_type_uses_is_a_warning_and_the_toxic_still_loads()
    {
        var result = Load(WithChaos("      - {type: latency, latency: 1s, rate: 5}\n"));

        Warning(result, "'rate' is ignored (latency toxics do not use it); latency uses latency, jitter");
        Assert.True(result.Ok);
    }

    [Fact]
    public void Chaos_that_is_not_a_list_is_an_error()
    {
        Error(Load("services:\n" + TcpService(extra: "    chaos: latency\n")), "chaos: expected a list of toxics");
    }

    [Fact]
    public void Exported_chaos_loads_back_to_the_same_toxics()
    {
        var original = OnlyService(WithChaos("""
                  - {type: latency, latency: 250ms, jitter: 0.5ms}
                  - {type: slicer, stream: upstream, average_size: 64, size_variation: 8, delay: 2ms, toxicity: 0.25}
                  - {type: limit_data, bytes: 4096}
                  - {type: timeout, timeout: 2s}
                  - {type: slow_close, delay: 1s}
                  - {type: down}
            """));

        var reloaded = OnlyService(ConfigExporter.ToYaml(new LocalPortConfig("1.0", [original], ShutdownTimeouts.Default, null)));

        Assert.Equal(original.Chaos, reloaded.Chaos);
    }
}
