using System.Runtime.InteropServices;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Hosting;
using LocalPort.Actors;
using LocalPort.Actors.Hosting;
using LocalPort.Actors.Shutdown;
using LocalPort.Actors.Supervision;
using LocalPort.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Events;

namespace LocalPort.Cli.Running;

/// <summary>
/// A Generic Host carrying the LocalPort ActorSystem. LocalPort's signal bridge is the only owner of
/// signals: a signal runs CoordinatedShutdown, the same road a host app or `daemon stop` takes.
/// </summary>
public sealed class SupervisorHost : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly LocalPortRuntime _runtime;

    public ActorSystem System { get; }
    public IActorRef Root { get; }
    public LocalPortPaths Paths { get; }
    /// <summary>Completes with the shutdown report (also saved as JSON) when force-cleanup has finished.</summary>
    public Task<ShutdownReport> Report { get; }
    public string ReportPath => Path.Combine(Paths.StateDirectory, "last-shutdown.json");

    private SupervisorHost(IHost host, LocalPortPaths paths, LocalPortRuntime runtime, Task<ShutdownReport> report)
    {
        Report = report.ContinueWith(t => Save(t.Result), TaskScheduler.Default);
        _host = host;
        _runtime = runtime;
        Paths = paths;
        System = host.Services.GetRequiredService<ActorSystem>();
        Root = host.Services.GetRequiredService<ActorRegistry>().Get<LocalPortSupervisor>();
    }

    public static async Task<SupervisorHost> StartAsync(LocalPortOptions options, LogEventLevel consoleLevel, bool consoleLogs,
        Action<PosixSignal, int>? onSignal = null)
    {
        var paths = options.Paths;
        LocalPortPaths.EnsurePrivateDirectory(paths.LogDirectory);
        var logger = new LoggerConfiguration()
            .MinimumLevel.Is(LogEventLevel.Debug)
            .WriteTo.File(Path.Combine(paths.LogDirectory, "localport.log"),
                restrictedToMinimumLevel: LogEventLevel.Information,
                fileSizeLimitBytes: 10 * 1024 * 1024, rollOnFileSizeLimit: true, retainedFileCountLimit: 5)
            .WriteTo.Logger(l => l
                .Filter.ByIncludingOnly(_ => consoleLogs)
                .WriteTo.Console(restrictedToMinimumLevel: consoleLevel, standardErrorFromLevel: LogEventLevel.Verbose))
            .CreateLogger();

        var report = new TaskCompletionSource<ShutdownReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        var runtime = (options.Runtime ?? LocalPortRuntime.Real(paths)) with
        {
            FlushLogs = () => Task.CompletedTask,
            OnShutdownCompleted = r => report.TrySetResult(r),
        };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton<IHostLifetime, SignalsAreOurs>();
        // Akka.Hosting runs CoordinatedShutdown inside StopAsync: leave room for all four phases.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(40));
        builder.Logging.ClearProviders().AddSerilog(logger, dispose: true);
        builder.Services.AddAkka("localport", (akka, _) =>
        {
            akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
            akka.WithLocalPort(options with { Runtime = runtime, HandleSignals = true, OnSignal = onSignal });
        });
        var host = builder.Build();
        await host.StartAsync();
        var supervisor = new SupervisorHost(host, paths, runtime, report.Task);
        return supervisor;
    }

    /// <summary>Forwards shutdown progress to <paramref name="output"/> as it happens.</summary>
    public void ShowShutdownProgress(TextWriter output)
    {
        var channel = Channel.CreateUnbounded<object>();
        var bridge = System.ActorOf(Props.Create(() => new EventForwarder(channel.Writer)));
        System.EventStream.Subscribe(bridge, typeof(ShutdownPhaseStarted));
        System.EventStream.Subscribe(bridge, typeof(ShutdownPhaseCompleted));
        _ = Task.Run(async () =>
        {
            await foreach (var e in channel.Reader.ReadAllAsync())
            {
                switch (e)
                {
                    case ShutdownPhaseStarted started:
                        output.WriteLine($"shutdown: {started.Phase} …");
                        break;
                    case ShutdownPhaseCompleted { Report: var r }:
                        output.WriteLine($"shutdown: {r.Phase} done in {r.Duration.TotalMilliseconds:0} ms" +
                                         (r.Cleaned.Count > 0 ? $", {r.Cleaned.Count} cleaned" : "") +
                                         (r.TimedOut ? $", TIMED OUT; pending: {string.Join(", ", r.Pending)}" : "") +
                                         (r.Note is not null && !r.TimedOut ? $" ({r.Note})" : ""));
                        break;
                }
            }
        });
        _ = System.WhenTerminated.ContinueWith(_ => channel.Writer.TryComplete(), TaskScheduler.Default);
    }

    private ShutdownReport Save(ShutdownReport report)
    {
        try
        {
            LocalPortPaths.EnsurePrivateDirectory(Paths.StateDirectory);
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
            using var writer = new StreamWriter(ReportPath, options);
            writer.Write(report.ToJson());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return report;
    }

    public Task WhenTerminated => System.WhenTerminated;

    public async ValueTask DisposeAsync()
    {
        await CoordinatedShutdown.Get(System).Run(SignalShutdownReason.Instance);
        await _host.StopAsync();
        _host.Dispose();
        // Belt and braces: whatever the phases could not stop is killed now.
        _runtime.Ledger.KillAll(TimeSpan.FromSeconds(1));
        _runtime.Ledger.DeleteFiles();
        await Serilog.Log.CloseAndFlushAsync();
    }

    /// <summary>Replaces the console lifetime so the Generic Host does not also claim Ctrl-C/SIGTERM.</summary>
    private sealed class SignalsAreOurs : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class EventForwarder : ReceiveActor
    {
        public EventForwarder(ChannelWriter<object> writer) => ReceiveAny(m => writer.TryWrite(m));
    }
}
