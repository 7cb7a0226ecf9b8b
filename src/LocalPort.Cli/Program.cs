using System.CommandLine;
using LocalPort.Cli.Commands;
using LocalPort.Cli.Common;
using LocalPort.Core.Processes;

// Socket continuations run on the epoll thread instead of hopping to the thread pool: a round trip
// through the relay costs ~35 µs more than a direct one instead of ~85 µs (bench figure 4). Safe because
// every continuation after a socket await in this process only relays, parses or tells an actor; nothing
// blocks there. It must be set before the first socket is created; set it to 0 to turn it off.
if (Environment.GetEnvironmentVariable(ChildProcess.InlineSocketCompletions) is null)
    Environment.SetEnvironmentVariable(ChildProcess.InlineSocketCompletions, "1");
// With inline completions .NET runs one epoll thread per core; one is enough here (bench figure 4: 16 streams and
// figure 8: 1,800 connections/s carried as well) and a relayed connection's two sockets then share it, so its events no
// longer wake a second thread: idle checks cost ~15 % less CPU and a third fewer context switches (figure 5).
if (Environment.GetEnvironmentVariable(ChildProcess.SocketThreadCount) is null)
    Environment.SetEnvironmentVariable(ChildProcess.SocketThreadCount, "1");

// Every relayed connection holds two descriptors: allow as many as the hard limit does (CoreCLR already
// raises the soft limit on glibc Linux and macOS; this covers the rest). The supervisor logs the result.
FileLimits.RaiseSoftLimit();

var root = new RootCommand("LocalPort keeps your kubectl, ssh and tcp port forwards alive.");
// Unix spellings only: no /?, /h or -? in help or completion; -V as upstream localport has it.
root.Options.Clear();
root.Options.Add(new System.CommandLine.Help.HelpOption("--help", "-h"));
root.Options.Add(new VersionOption("--version", "-V"));
foreach (var option in GlobalOptions.All) root.Options.Add(option);
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(ConfigCommands.Create());
root.Subcommands.Add(DaemonCommands.Create());
foreach (var command in ServiceCommands.Create()) root.Subcommands.Add(command);
root.Subcommands.Add(LogsCommand.Create());
root.Subcommands.Add(ChaosCommands.Create());
root.Subcommands.Add(ClusterCommand.Create());
root.Subcommands.Add(SshCommands.Create());
root.Subcommands.Add(CompletionCommand.Create());
// A bare `localport` is a question: answer it with the help.
root.SetAction(_ => root.Parse(["--help"]).Invoke());

var parse = root.Parse(args);
if (parse.Errors.Count > 0) return UsageErrors.Print(parse);
if (LogLevels.CheckEnvironment() is { } badLevel)
{
    Console.Error.WriteLine(badLevel);
    return ExitCodes.UsageOrConfig;
}
if (GlobalOptions.NoColorRequested(parse)) GlobalOptions.UseColourlessConsole(parse);
try
{
    // Signals belong to the supervisor (one owner), so the parser must not claim Ctrl-C.
    return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
}
catch (LocalPort.Core.UntrustedPathException e)
{
    // Like a bad config: nothing was started, and the message says what to change.
    Console.Error.WriteLine($"error: {e.Message}");
    return ExitCodes.UsageOrConfig;
}
catch (Exception e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    if (Environment.GetEnvironmentVariable("LOCALPORT_DEBUG") is not null) Console.Error.WriteLine(e);
    return ExitCodes.Failure;
}
