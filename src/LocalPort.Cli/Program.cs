using System.CommandLine;
using LocalPort.Cli.Commands;
using LocalPort.Cli.Common;

var root = new RootCommand("LocalPort keeps your kubectl, ssh and tcp port forwards alive.");
foreach (var option in GlobalOptions.All) root.Options.Add(option);
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(ConfigCommands.Create());
root.Subcommands.Add(DaemonCommands.Create());
foreach (var command in ServiceCommands.Create()) root.Subcommands.Add(command);
root.Subcommands.Add(LogsCommand.Create());
root.Subcommands.Add(ChaosCommands.Create());
root.Subcommands.Add(ClusterCommand.Create());
root.Subcommands.Add(CompletionCommand.Create());

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {error.Message}");
    Console.Error.WriteLine("See `localport --help`.");
    return ExitCodes.UsageOrConfig;
}
try
{
    // Signals belong to the supervisor (one owner), so the parser must not claim Ctrl-C.
    return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
}
catch (Exception e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    if (Environment.GetEnvironmentVariable("LOCALPORT_DEBUG") is not null) Console.Error.WriteLine(e);
    return ExitCodes.Failure;
}
