using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Hosting;
using LocalPort.Actors.Hosting;
using LocalPort.Actors.Supervision;
using LocalPort.Core;
using LocalPort.Core.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Events;

namespace LocalPort.Cli.Running;

/// <summary>
/// A Generic Host carrying the LocalPort ActorSystem, with LocalPort as the only owner of
/// SIGINT/SIGTERM: a signal runs CoordinatedShutdown, the same road a host app or `daemon stop` takes.
/// </summary>
public sealed class SupervisorHost : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly List<PosixSignalRegistration> _signals = [];
    private int _signalCount;

    public ActorSystem System { get; }
    public IActorRef Root { get; }
    public LocalPortPaths Paths { get; }

    private SupervisorHost(IHost host, LocalPortPaths paths)
    {
        _host = host;
        Paths = paths;
        System = host.Services.GetRequiredService<ActorSystem>();
        Root = host.Services.GetRequiredService<ActorRegistry>().Get<LocalPortSupervisor>();
    }

    public static async Task<SupervisorHost> StartAsync(LocalPortOptions options, LogEventLevel consoleLevel, bool consoleLogs)
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

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton<IHostLifetime, SignalsAreOurs>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(40));
        builder.Logging.ClearProviders().AddSerilog(logger, dispose: true);
        builder.Services.AddAkka("localport", (akka, _) =>
        {
            akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
            akka.WithLocalPort(options);
        });
        var host = builder.Build();
        await host.StartAsync();
        return new SupervisorHost(host, paths);
    }

    /// <summary>SIGINT/SIGTERM start one shutdown however many arrive; <paramref name="onSignal"/> sees each.</summary>
    public void HandleSignals(Action<PosixSignal, int>? onSignal = null)
    {
        void Handler(PosixSignalContext context)
        {
            context.Cancel = true; // keep the process alive while the phases run
            var count = Interlocked.Increment(ref _signalCount);
            onSignal?.Invoke(context.Signal, count);
            if (count == 1) _ = CoordinatedShutdown.Get(System).Run(SignalReason.Instance);
        }
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, Handler));
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handler));
    }

    public Task WhenTerminated => System.WhenTerminated;

    public async ValueTask DisposeAsync()
    {
        await CoordinatedShutdown.Get(System).Run(SignalReason.Instance);
        await _host.StopAsync();
        _host.Dispose();
        foreach (var signal in _signals) signal.Dispose();
        // Belt and braces: nothing we started may outlive us.
        ChildProcess.KillAll();
        await Serilog.Log.CloseAndFlushAsync();
    }

    private sealed class SignalReason : CoordinatedShutdown.Reason
    {
        public static readonly SignalReason Instance = new();
        public override int ExitCode => 0;
    }

    /// <summary>Replaces the console lifetime so the Generic Host does not also claim Ctrl-C/SIGTERM.</summary>
    private sealed class SignalsAreOurs : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
