using System.CommandLine;
using Akka.Actor;
using LocalPort.Actors.Hosting;
using LocalPort.Actors.Services;
using LocalPort.Cli.Common;
using LocalPort.Control;
using Spectre.Console;

namespace LocalPort.Cli.Running;

/// <summary>`run`'s output: a live table on a terminal, one plain (or JSON) line per change when piped.</summary>
public static class LiveStatus
{
    /// <summary>
    /// Plain lines for pipes and logs: a snapshot, then every change until <paramref name="until"/> completes (every change
    /// published before it is still written) or the system stops.
    /// </summary>
    public static async Task StreamLinesAsync(ActorSystem system, IActorRef root, OutputFormat format, TextWriter output, Task until)
    {
        using var changes = EventStreamChannel<ServiceView>.Open(system, [typeof(ServiceStatusChanged)],
            e => e is ServiceStatusChanged changed ? ServiceView.From(changed.Status) : null);
        _ = until.ContinueWith(_ => changes.CompleteAsync(TimeSpan.FromSeconds(2)), TaskScheduler.Default).Unwrap();

        // A slow machine starting many services may keep the root busy for a while: wait for it, never abort the run.
        StatusSnapshot? snapshot = null;
        while (snapshot is null && !system.WhenTerminated.IsCompleted)
        {
            try { snapshot = await root.Ask<StatusSnapshot>(GetStatus.Instance, TimeSpan.FromSeconds(5)); }
            catch (AskTimeoutException) { }
        }
        foreach (var status in snapshot?.Services ?? []) Write(ServiceView.From(status));
        await foreach (var view in changes.Reader.ReadAllAsync()) Write(view);

        void Write(ServiceView view)
        {
            output.WriteLine(format == OutputFormat.Json ? ApiJson.Serialize(view) : StatusViews.TimedLine(view));
            output.Flush();
        }
    }

    /// <summary>
    /// A live table, redrawn a few times a second, until the system stops or <paramref name="stopWhen"/> completes.
    /// No Spectre type in its signature: callers that never draw a table never load Spectre.Console.
    /// </summary>
    public static Task LiveTableAsync(ActorSystem system, IActorRef root, ParseResult parse, Task stopWhen)
    {
        var console = GlobalOptions.CreateConsole(parse);
        return console.Live(StatusViews.Table([])).AutoClear(false).StartAsync(async context =>
        {
            while (!system.WhenTerminated.IsCompleted && !stopWhen.IsCompleted)
            {
                try
                {
                    var snapshot = await root.Ask<StatusSnapshot>(GetStatus.Instance, TimeSpan.FromSeconds(2));
                    context.UpdateTarget(StatusViews.Table(snapshot.Services.Select(ServiceView.From)));
                }
                catch (Exception e) when (e is AskTimeoutException or TaskCanceledException) { }
                await Task.WhenAny(system.WhenTerminated, stopWhen, Task.Delay(250));
            }
        });
    }
}
