using System.CommandLine;
using System.Text.RegularExpressions;
using LocalPort.Cli.Common;
using LocalPort.Core;

namespace LocalPort.Cli.Commands;

/// <summary>`localport logs SVC [--follow] [-n N] [--grep RE] [--path]`: reads the service's log file directly.</summary>
public static class LogsCommand
{
    public static Command Create()
    {
        var service = new Argument<string>("service") { Description = "Service name (or `localport` for the daemon log)" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new lines" };
        var lines = new Option<int>("--lines", "-n") { Description = "How many lines from the end", DefaultValueFactory = _ => 50 };
        var grep = new Option<string?>("--grep") { Description = "Only lines matching this regular expression" };
        var path = new Option<bool>("--path") { Description = "Print the log file's path and exit" };
        var command = new Command("logs", "Show a service's log: the child's output, with a header per start");
        command.Arguments.Add(service);
        foreach (var option in new Option[] { follow, lines, grep, path }) command.Options.Add(option);
        command.SetAction(async (parse, token) =>
        {
            var paths = LocalPortPaths.FromEnvironment();
            var name = parse.GetValue(service)!;
            var file = name == "localport" ? paths.DaemonLog : paths.ServiceLog(name);
            if (parse.GetValue(path))
            {
                Console.WriteLine(file);
                return ExitCodes.Ok;
            }
            Regex? filter;
            try
            {
                filter = parse.GetValue(grep) is { } pattern ? new Regex(pattern, RegexOptions.Compiled, TimeSpan.FromSeconds(1)) : null;
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: --grep: {e.Message}");
                return ExitCodes.UsageOrConfig;
            }
            if (!File.Exists(file))
            {
                Console.Error.WriteLine($"error: no log for '{name}' at {file} (it appears once the service has started)");
                return ExitCodes.Failure;
            }
            await Print(file, parse.GetValue(lines), filter, parse.GetValue(follow), token);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task Print(string file, int tail, Regex? filter, bool follow, CancellationToken token)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var last = new Queue<string>();
        while (await reader.ReadLineAsync(token) is { } line)
        {
            if (filter is not null && !filter.IsMatch(line)) continue;
            last.Enqueue(line);
            if (last.Count > tail) last.Dequeue();
        }
        foreach (var line in last) Console.WriteLine(line);
        if (!follow) return;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var line = await reader.ReadLineAsync(token);
                if (line is null)
                {
                    await Task.Delay(200, token);
                    continue;
                }
                if (filter is null || filter.IsMatch(line)) Console.WriteLine(line);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
