using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Hosting;
using Akka.Logger.Serilog;
using LocalPort.Actors;
using LocalPort.Actors.Hosting;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Actors.Shutdown;
using LocalPort.Actors.Supervision;
using LocalPort.Cli.Control;
using LocalPort.Control;
using LocalPort.Core;
using LocalPort.Core.Processes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace LocalPort.Cli.Running;

/// <summary>How a supervisor host runs: foreground `run`/`demo` or the daemon.</summary>
public sealed record SupervisorHostOptions(LocalPortOptions LocalPort, string Mode)
{
    public bool ConsoleLogs { get; init; }
    public LogEventLevel ConsoleLevel { get; init; } = LogEventLevel.Warning;
    /// <summary>The daemon log's level (--debug, --log-level, $LOCALPORT_LOG_LEVEL).</summary>
    public LogEventLevel FileLevel { get; init; } = LogEventLevel.Information;
    public bool JsonLogs { get; init; }
    /// <summary>--metrics: a loopback TCP endpoint that serves GET /metrics and nothing else.</summary>
    public System.Net.IPEndPoint? Metrics { get; init; }
}

/// <summary>
/// The web host carrying the LocalPort ActorSystem and the control API on a Unix socket. LocalPort's
/// shutdown coordinator is the only owner of signals: a signal runs CoordinatedShutdown, the same road a
/// host app or `daemon stop` takes.
/// </summary>
public sealed class SupervisorHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly InstanceLock _instanceLock;
    private readonly LocalPortRuntime _runtime;

    public ActorSystem System { get; }
    public IActorRef Root { get; }
    public LocalPortPaths Paths { get; }
    /// <summary>Completes with the shutdown report (also saved as JSON) when force-cleanup has finished.</summary>
    public Task<ShutdownReport> Report { get; }
    public string ReportPath => Path.Combine(Paths.StateDirectory, "last-shutdown.json");

    private SupervisorHost(WebApplication app, LocalPortPaths paths, LocalPortRuntime runtime, Task<ShutdownReport> report,
        ShutdownEvents events, InstanceLock instanceLock)
    {
        _instanceLock = instanceLock;
        _app = app;
        _runtime = runtime;
        _events = events;
        Paths = paths;
        System = app.Services.GetRequiredService<ActorSystem>();
        Root = app.Services.GetRequiredService<ActorRegistry>().Get<LocalPortSupervisor>();
        Report = report.ContinueWith(t => Save(t.Result), TaskScheduler.Default);
    }

    /// <exception cref="AlreadyRunningException">Another LocalPort holds the runtime directory's lock or answers on its control socket.</exception>
    public static async Task<SupervisorHost> StartAsync(SupervisorHostOptions options)
    {
        var paths = options.LocalPort.Paths;
        paths.EnsurePrivateDirectories();
        // Decided before anything starts: a loser of a start race exits here with nothing to clean up.
        var instanceLock = InstanceLock.Take(paths.RuntimeDirectory);
        try
        {
            await ClaimControlSocket(paths.ControlSocket);
            return await StartLockedAsync(options, paths, instanceLock);
        }
        catch
        {
            instanceLock.Dispose();
            throw;
        }
    }

    private static async Task<SupervisorHost> StartLockedAsync(SupervisorHostOptions options, LocalPortPaths paths, InstanceLock instanceLock)
    {

        var logger = CreateLogger(paths, options);
        logger.Debug("log level: console {Console}, daemon log {File}; config {Config}; state {State}; runtime {Runtime}",
            options.ConsoleLogs ? options.ConsoleLevel : "off", options.FileLevel, options.LocalPort.ConfigPath ?? "-", paths.StateDirectory, paths.RuntimeDirectory);
        if (FileLimits.Current() is { } limit)
            logger.Information("open files: limit {Soft} (hard {Hard}), {Open} open at start", limit.Soft, limit.Hard, FileLimits.OpenCount());
        // A supervisor that crashed or was kill -9'd left its children behind: reap ours, only ours.
        foreach (var orphan in ChildrenFile.ReapOrphans(paths.ChildrenFile))
            logger.Warning("reaped orphaned child {Pid} of an earlier run: {Description}", orphan.Pid, orphan.Description);
        var report = new TaskCompletionSource<ShutdownReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        var runtime = (options.LocalPort.Runtime ?? LocalPortRuntime.Real(paths)) with
        {
            FlushLogs = () => Task.CompletedTask,
            OnShutdownCompleted = r => report.TrySetResult(r),
        };

        var events = new ShutdownEvents();
        // The empty builder: no appsettings files, environment configuration, console logging, host filtering or
        // forwarded headers, none of which a Unix-socket API uses. Every assembly loaded holds two descriptors for the
        // life of the process, and under `ulimit -n 256` those ~30 descriptors are what relayed connections run on.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = "localport",
            // Not the working directory (/ for the daemon): a host that watches its content root for appsettings.json
            // put ~42,000 inotify watches on / (0.2-2 s to remove at exit). Our runtime directory is private and empty.
            ContentRootPath = paths.RuntimeDirectory,
        });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        builder.Services.AddSingleton<IHostLifetime, SignalsAreOurs>();
        builder.Services.AddLocalPortControl(control => control.Mode = options.Mode);
        // Akka.Hosting runs CoordinatedShutdown inside StopAsync: leave room for all four phases.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = LocalPortHostingExtensions.HostShutdownTimeout(options.LocalPort.Config.Shutdown));
        // Serilog.Log owns the logger (Akka.Logger.Serilog writes there): DisposeAsync closes and flushes it last.
        Serilog.Log.Logger = logger;
        builder.Logging.ClearProviders().AddSerilog(logger, dispose: false);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.ListenUnixSocket(paths.ControlSocket);
            if (options.Metrics is { } metrics) k.Listen(metrics);
        });
        builder.Services.AddAkka("localport", (akka, _) =>
        {
            akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                // Straight to Serilog (Serilog.Log.Logger), as structured events: a template's {Service} or {Phase}
                // stays a property in the JSON log instead of being flattened to text by the ILoggerFactory bridge.
                loggers.AddSerilogLogging();
            });
            // Our own process, our own settings: logging, the scheduler's tick, no CLR exit hook, no JSON serializer
            // (hocon/localport-cli.hocon).
            akka.AddHocon(CliHocon.Value, HoconAddMode.Prepend);
            // Our actors' debug lines exist only when Akka itself logs at debug.
            if (MinimumLevel(options) <= LogEventLevel.Debug) akka.AddHocon("akka.loglevel = DEBUG", HoconAddMode.Prepend);
            // Listening before the tree starts, so no signal or phase is missed.
            akka.WithActors((system, _) => events.Listen(system));
            akka.WithActors((system, _) => DrainLogsBeforeTermination(system, events));
            akka.WithLocalPort(options.LocalPort with { Runtime = runtime, HandleSignals = true });
        });

        runtime.Ledger.ChildrenChanged += () => ChildrenFile.Write(paths.ChildrenFile, runtime.Ledger.Children);
        var app = builder.Build();
        // The --metrics port answers GET /metrics only, never the control API (it has no peer credentials to check).
        if (options.Metrics is not null) MetricsPort.Use(app);
        // Then: a request from another user is answered with 403 and nothing else.
        PeerCheck.Use(app);
        app.MapLocalPort();
        await app.StartAsync();

        File.SetUnixFileMode(paths.ControlSocket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        // In the background: `run` subscribes to status changes once this returns, and must not miss the first ones.
        _ = Task.Run(() => WarmUpControlApi(paths.ControlSocket));
        runtime.Ledger.TrackFile(paths.ControlSocket, "control socket");
        WritePidFile(paths, runtime);
        SettledMemory.TrimLater(events.Started);
        return new SupervisorHost(app, paths, runtime, report.Task, events, instanceLock);
    }

    /// <summary>
    /// Akka prints whatever is still in a logger's mailbox when the system stops to stdout (its LoggerMailbox), where
    /// `run -o json` must print JSON only: the shutdown's last lines (force-cleanup, the report) are let through first.
    /// An Identify is answered once the logger has handled everything queued before it.
    /// </summary>
    private static void DrainLogsBeforeTermination(ActorSystem system, ShutdownEvents events) =>
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate, "localport-drain-logs", async () =>
        {
            await DrainAkkaLogs(system);
            events.LogsDrained();
            return Akka.Done.Instance;
        });

    /// <summary>Completes once Akka's logger has passed on every line logged so far (to Serilog).</summary>
    private static async Task DrainAkkaLogs(ActorSystem system)
    {
        try
        {
            await system.ActorSelection("/system/log*").Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(2));
        }
        catch (AskTimeoutException)
        {
            // A logger this far behind is not waited for any longer.
        }
    }

    private static readonly Lazy<string> CliHocon = new(() =>
    {
        using var stream = typeof(SupervisorHost).Assembly.GetManifestResourceStream("hocon.localport-cli.hocon")
            ?? throw new InvalidOperationException("embedded resource hocon.localport-cli.hocon is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>
    /// Two requests to ourselves, a status with a query and an unknown path (404), then one exception formatted: the
    /// assemblies answering and logging an error need are loaded now (two descriptors each), not the first time, which
    /// may be when relayed connections hold every descriptor left; a failed load there breaks the API for good (a
    /// type initializer that threw) or aborts the process.
    /// </summary>
    private static async Task WarmUpControlApi(string socketPath)
    {
        foreach (var path in new[] { "/v1/status?service=", "/v1/warm-up" })
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), timeout.Token);
                await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: localport\r\nConnection: close\r\n\r\n"),
                    SocketFlags.None, timeout.Token);
                var buffer = new byte[4096];
                while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0)
                {
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // Best effort: an API that cannot answer now will say so when asked.
            }
        }
        try
        {
            throw new InvalidOperationException("warm-up");
        }
        catch (InvalidOperationException e)
        {
            _ = e.ToString();
        }
    }

    private static Serilog.Core.Logger CreateLogger(LocalPortPaths paths, SupervisorHostOptions options)
    {
        // The sink creates its files with the process umask: ours exist 0600 before it opens them.
        LocalPortPaths.EnsurePrivateFile(paths.DaemonLog);
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(MinimumLevel(options))
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning);
        configuration = options.JsonLogs
            ? WriteJsonTo(configuration, paths.DaemonLog, options.FileLevel)
            : configuration.WriteTo.File(paths.DaemonLog, options.FileLevel,
                fileSizeLimitBytes: 10 * 1024 * 1024, rollOnFileSizeLimit: true, retainedFileCountLimit: 5, hooks: PrivateLogFiles.Instance);
        if (options.ConsoleLogs)
            configuration = configuration.WriteTo.Console(restrictedToMinimumLevel: options.ConsoleLevel,
                standardErrorFromLevel: LogEventLevel.Verbose);
        return configuration.CreateLogger();
    }

    /// <summary>Its own method, so the JSON formatter's assembly (two descriptors for good) loads only for --log-json.</summary>
    private static LoggerConfiguration WriteJsonTo(LoggerConfiguration configuration, string path, LogEventLevel level) =>
        configuration.WriteTo.File(new CompactJsonFormatter(), path, level,
            fileSizeLimitBytes: 10 * 1024 * 1024, rollOnFileSizeLimit: true, retainedFileCountLimit: 5, hooks: PrivateLogFiles.Instance);

    private static LogEventLevel MinimumLevel(SupervisorHostOptions options) =>
        (LogEventLevel)Math.Min((int)options.FileLevel, options.ConsoleLogs ? (int)options.ConsoleLevel : int.MaxValue);

    /// <summary>One supervisor per runtime directory: a live socket means another one runs; a dead one is stale.</summary>
    private static async Task ClaimControlSocket(string socketPath)
    {
        if (!File.Exists(socketPath)) return;
        using var client = new ControlClient(socketPath, TimeSpan.FromSeconds(2));
        if (await client.IsAliveAsync())
        {
            var status = await client.StatusAsync();
            throw new AlreadyRunningException(
                $"another LocalPort ({status.Mode}, pid {status.Pid}) is already running with control socket {socketPath}; " +
                "stop it with `localport daemon stop` (or Ctrl-C in its terminal) first");
        }
        File.Delete(socketPath);
    }

    private static void WritePidFile(LocalPortPaths paths, LocalPortRuntime runtime)
    {
        LocalPortPaths.WriteAtomically(paths.PidFile, $"{Environment.ProcessId} {Core.Processes.Posix.StartTicks(Environment.ProcessId)}\n");
        runtime.Ledger.TrackFile(paths.PidFile, "pid file");
    }

    private readonly ShutdownEvents _events;

    /// <summary>Completes when the shutdown starts: a SIGINT/SIGTERM asked for it, or its first phase began.</summary>
    public Task ShutdownStarted => _events.Started;

    /// <summary>
    /// Completes when the shutdown has run and its report is saved (see <see cref="Report"/>), or when the actor system
    /// stopped without one: what a command waits for before it reports and exits. Not the actor system's termination,
    /// which the process does not wait for once the report is saved (see <see cref="DisposeAsync"/>).
    /// </summary>
    public Task Finished => Task.WhenAny(Report, WhenTerminated);

    private Task _progress = Task.CompletedTask;

    /// <summary>Prints signals and shutdown phases to <paramref name="output"/> as they happen (call once).</summary>
    public void ShowShutdownProgress(GatedWriter output)
    {
        _progress = Task.Run(async () =>
        {
            await foreach (var e in _events.Reader.ReadAllAsync())
            {
                switch (e)
                {
                    case SignalHandled signal:
                        output.WriteLine(Describe(signal));
                        break;
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
    }

    /// <summary>Waits until the progress printer has passed on every event published so far (the last phase's included).</summary>
    public async Task ProgressShownAsync()
    {
        await _events.CompleteAsync();
        await _progress;
    }

    private static string Describe(SignalHandled signal) => signal.Outcome switch
    {
        SignalOutcome.ShutdownStarted => $"{signal.Signal}: stopping every service… (Ctrl-C again to skip to force-cleanup)",
        SignalOutcome.AlreadyStopping => $"{signal.Signal}: already stopping (Ctrl-C again to skip to force-cleanup)",
        SignalOutcome.Escalated => "SIGINT again: skipping to force-cleanup (once more exits at once)",
        SignalOutcome.ExitingNow => "SIGINT a third time: killing everything and exiting now",
        SignalOutcome.ReloadRequested => "SIGHUP: reload requested",
        SignalOutcome.ReloadIgnored => "SIGHUP: ignored, already stopping",
        SignalOutcome.StatusDumped => "SIGQUIT: status written to the log",
        _ => $"{signal.Signal}: ignored",
    };

    private ShutdownReport Save(ShutdownReport report)
    {
        try
        {
            LocalPortPaths.EnsurePrivateDirectory(Paths.StateDirectory);
            LocalPortPaths.WriteAtomically(ReportPath, report.ToJson());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return report;
    }

    public Task WhenTerminated => System.WhenTerminated;

    /// <summary>
    /// Once the shutdown's report is saved, every child, port and file of ours is gone: what CoordinatedShutdown still
    /// does (the actor system's own termination), Kestrel's stop and the host's disposal would only delay the exit, so
    /// they are left unfinished and the process ends without them (this is the CLI's own process: the library never
    /// cuts an embedded host short). Logs are flushed and the instance lock released either way.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Report.IsCompletedSuccessfully)
        {
            // The phase before termination drains the logger; a second Identify of our own could still sit in the
            // logger's mailbox when the system terminates, and Akka prints what is left there to stdout ("<Identify>").
            await Task.WhenAny(_events.LogsDrainedTask, System.WhenTerminated, Task.Delay(TimeSpan.FromSeconds(3)));
        }
        else
        {
            await CoordinatedShutdown.Get(System).Run(SignalShutdownReason.Instance);
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        // Belt and braces: whatever the phases could not stop is killed now.
        await _runtime.Ledger.KillAllAsync(TimeSpan.FromSeconds(1));
        _runtime.Ledger.DeleteFiles();
        if (_runtime.Ledger.Children.Count == 0) File.Delete(Paths.ChildrenFile);
        await Serilog.Log.CloseAndFlushAsync();
        // Last: the next instance may start only once this one has let go of everything.
        _instanceLock.Dispose();
    }

    /// <summary>
    /// Rolled daemon logs (localport_001.log …, named by the sink when the size limit is reached) are created by the
    /// sink with the umask: each one is made 0600 as it is opened, before the first line is written to it.
    /// </summary>
    private sealed class PrivateLogFiles : Serilog.Sinks.File.FileLifecycleHooks
    {
        public static readonly PrivateLogFiles Instance = new();

        public override Stream OnFileOpened(string path, Stream underlyingStream, Encoding encoding)
        {
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            return underlyingStream;
        }
    }

    /// <summary>Replaces the console lifetime so the host does not also claim Ctrl-C/SIGTERM.</summary>
    private sealed class SignalsAreOurs : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>
    /// The coordinator's signal and phase events, taken off the EventStream into a channel for the printer. A small
    /// bounded buffer: a detached daemon never prints, and a signal must not grow memory there.
    /// </summary>
    private sealed class ShutdownEvents
    {
        private readonly Channel<object> _channel = Channel.CreateBounded<object>(
            new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private readonly TaskCompletionSource _logsDrained = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Started => _started.Task;
        public ChannelReader<object> Reader => _channel.Reader;

        /// <summary>Completes once Akka's logger has passed on every line logged before the actor system's termination.</summary>
        public Task LogsDrainedTask => _logsDrained.Task;
        public void LogsDrained() => _logsDrained.TrySetResult();

        private EventStreamChannel<object>? _subscription;

        public void Listen(ActorSystem system) => _subscription = EventStreamChannel<object>.Open(system,
            [typeof(SignalHandled), typeof(ShutdownPhaseStarted), typeof(ShutdownPhaseCompleted)], Noticed, _channel,
            "localport-cli-shutdown-events");

        /// <summary>Ends the channel once every event published so far is in it.</summary>
        public Task CompleteAsync() => _subscription?.CompleteAsync(TimeSpan.FromSeconds(2)) ?? Task.CompletedTask;

        /// <summary>Passes every event on, noting the first sign of a shutdown.</summary>
        private object Noticed(object e)
        {
            if (e is ShutdownPhaseStarted or SignalHandled { Signal: PosixSignal.SIGINT or PosixSignal.SIGTERM }) _started.TrySetResult();
            return e;
        }
    }
}

public sealed class AlreadyRunningException(string message) : Exception(message);
