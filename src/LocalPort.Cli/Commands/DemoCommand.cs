using System.CommandLine;
using LocalPort.Cli.Common;
using LocalPort.Cli.Demo;
using LocalPort.Core.Config;

namespace LocalPort.Cli.Commands;

/// <summary>`localport demo`: starts two small upstreams and supervises tcp forwards to them. No cluster, no ssh.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "A self-contained demonstration: tcp forwards to small upstreams it starts itself");
        command.SetAction((parse, _) => ExecuteAsync(parse));
        return command;
    }

    private static async Task<int> ExecuteAsync(ParseResult parse)
    {
        LocalPortConfig? config;
        if (parse.GetValue(GlobalOptions.Config) is not null)
        {
            config = ConfigResolver.Load(parse, Console.Error);
        }
        else
        {
            var result = ConfigLoader.LoadText(DemoConfig.Yaml, "<embedded demo config>");
            ConfigResolver.Print(result, Console.Error, quiet: true);
            config = result.Ok ? result.Config : null;
        }
        if (config is null) return ExitCodes.UsageOrConfig;

        DemoUpstreams upstreams;
        try
        {
            upstreams = DemoUpstreams.Start();
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failure;
        }
        await using (upstreams)
        {
            Console.Error.WriteLine($"demo upstreams: http on 127.0.0.1:{DemoUpstreams.HttpPort}, echo on 127.0.0.1:{DemoUpstreams.EchoPort}");
            Console.Error.WriteLine("try: curl http://127.0.0.1:18080/   — Ctrl-C stops everything");
            return await RunCommand.RunAsync(parse, config, [], []);
        }
    }
}

/// <summary>The embedded default the demo runs when no --config is given (same as config/localport.yaml).</summary>
public static class DemoConfig
{
    public static string Yaml { get; } = Read();

    private static string Read()
    {
        using var stream = typeof(DemoConfig).Assembly.GetManifestResourceStream("demo.localport.yaml")
            ?? throw new InvalidOperationException("embedded demo configuration is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
