using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Akka.Actor;
using LocalPort.Actors.Services;
using LocalPort.Cli.Common;
using Spectre.Console;

namespace LocalPort.Cli.Running;

/// <summary>`run`'s output: a live table on a terminal, one plain (or JSON) line per change when piped.</summary>
public static class LiveStatus
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public static string ToJson(ServiceStatus status) => JsonSerializer.Serialize(new
    {
        name = status.Name,
        technology = status.Technology,
        state = status.State,
        healthy = status.Healthy,
        restarts = status.Restarts,
        local_port = status.LocalPort,
        pid = status.Pid,
        last_error = status.LastError,
        since = status.Since,
        next_attempt = status.NextAttempt,
    }, Json);

    public static string ToLine(ServiceStatus s) =>
        $"{DateTimeOffset.Now:HH:mm:ss.fff} {s.Name,-20} {StateText(s.State),-11} {HealthText(s.Healthy),-9} " +
        $"port={s.LocalPort} pid={s.Pid?.ToString() ?? "-"} restarts={s.Restarts}" +
        (s.LastError is null || s.State == ServiceState.Running && s.Healthy == true ? "" : $" error=\"{s.LastError}\"") +
        (s.NextAttempt is { } next ? $" next_try={next:HH:mm:ss}" : "");

    public static string StateText(ServiceState state) => JsonNamingPolicy.KebabCaseLower.ConvertName(state.ToString());

    public static string HealthText(bool? healthy) => healthy switch { true => "healthy", false => "unhealthy", null => "-" };

    /// <summary>Plain lines for pipes and logs: a snapshot, then every change until the system stops.</summary>
    public static async Task StreamLinesAsync(ActorSystem system, IActorRef root, OutputFormat format, TextWriter output)
    {
        var channel = Channel.CreateUnbounded<ServiceStatus>();
        // A system actor: the user tree's stop would drop the last "stopped" statuses still in its mailbox.
        var bridge = ((ExtendedActorSystem)system).SystemActorOf(Props.Create(() => new ChannelWriterActor(channel.Writer)));
        system.EventStream.Subscribe(bridge, typeof(ServiceStatusChanged));
        _ = system.WhenTerminated.ContinueWith(_ => channel.Writer.TryComplete(), TaskScheduler.Default);

        // A slow machine starting many services may keep the root busy for a while: wait for it, never abort the run.
        StatusSnapshot? snapshot = null;
        while (snapshot is null && !system.WhenTerminated.IsCompleted)
        {
            try { snapshot = await root.Ask<StatusSnapshot>(GetStatus.Instance, TimeSpan.FromSeconds(5)); }
            catch (AskTimeoutException) { }
        }
        foreach (var status in snapshot?.Services ?? []) Write(status);
        await foreach (var status in channel.Reader.ReadAllAsync()) Write(status);

        void Write(ServiceStatus status)
        {
            output.WriteLine(format == OutputFormat.Json ? ToJson(status) : ToLine(status));
            output.Flush();
        }
    }

    /// <summary>A live table, redrawn a few times a second, until the system stops or <paramref name="stopWhen"/> completes.</summary>
    public static async Task LiveTableAsync(ActorSystem system, IActorRef root, IAnsiConsole console, Task stopWhen)
    {
        var table = NewTable();
        await console.Live(table).AutoClear(false).StartAsync(async context =>
        {
            while (!system.WhenTerminated.IsCompleted && !stopWhen.IsCompleted)
            {
                try
                {
                    var snapshot = await root.Ask<StatusSnapshot>(GetStatus.Instance, TimeSpan.FromSeconds(2));
                    Fill(table, snapshot);
                    context.Refresh();
                }
                catch (Exception e) when (e is AskTimeoutException or TaskCanceledException) { }
                await Task.WhenAny(system.WhenTerminated, stopWhen, Task.Delay(250));
            }
        });
    }

    private static Table NewTable() => new Table().Border(TableBorder.Rounded)
        .AddColumns("Service", "Tech", "Port", "State", "Health", "PID", "Restarts", "Last error");

    private static void Fill(Table table, StatusSnapshot snapshot)
    {
        table.Rows.Clear();
        foreach (var s in snapshot.Services)
        {
            var stateColour = s.State switch
            {
                ServiceState.Running => "green", ServiceState.Failed => "red", ServiceState.BackingOff or ServiceState.WaitingForCluster => "yellow",
                ServiceState.Disabled or ServiceState.Stopped => "grey", _ => "blue",
            };
            var healthColour = s.Healthy switch { true => "green", false => "red", null => "grey" };
            table.AddRow(
                Markup.Escape(s.Name), s.Technology.ToString().ToLowerInvariant(), s.LocalPort.ToString(),
                $"[{stateColour}]{StateText(s.State)}[/]" + (s.NextAttempt is { } next ? $" [grey](next try {next:HH:mm:ss})[/]" : ""),
                $"[{healthColour}]{HealthText(s.Healthy)}[/]",
                // As in `status`: a past error is history once the service runs again and is not unhealthy.
                s.Pid?.ToString() ?? "-", s.Restarts.ToString(), Markup.Escape(s.State == ServiceState.Running && s.Healthy != false ? "" : s.LastError ?? ""));
        }
    }

    private sealed class ChannelWriterActor : ReceiveActor
    {
        public ChannelWriterActor(ChannelWriter<ServiceStatus> writer) =>
            Receive<ServiceStatusChanged>(m => writer.TryWrite(m.Status));
    }
}
