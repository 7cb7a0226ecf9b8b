using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using LocalPort.Actors.Reload;
using LocalPort.Actors.ServiceManager;
using LocalPort.Actors.Services;
using LocalPort.Actors.Shutdown;
using LocalPort.Actors.Supervision;
using LocalPort.Core;
using LocalPort.Core.Config;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LocalPort.Actors.Hosting;

/// <summary>What <c>WithLocalPort</c> runs: a validated configuration and, optionally, which services.</summary>
public sealed record LocalPortOptions(LocalPortConfig Config)
{
    /// <summary>Only these services (by name), at start and after every reload; null means every service.</summary>
    public IReadOnlyCollection<string>? Services { get; init; }
    /// <summary>A further filter on services (e.g. by tag), applied with <see cref="Services"/> at start and on every reload.</summary>
    public Func<ServiceSpec, bool>? Selection { get; init; }
    /// <summary>
    /// The file <see cref="Config"/> came from. When set, a config watcher reloads it on change, on SIGHUP and on
    /// <see cref="ReloadConfig"/>; null means the configuration is fixed for the life of the system.
    /// </summary>
    public string? ConfigPath { get; init; }
    /// <summary>How <see cref="ConfigPath"/> is read on reload (the owner and mode check unless <c>TrustFile</c>).</summary>
    public LoadOptions ConfigLoadOptions { get; init; } = LoadOptions.Default;
    /// <summary>Quiet time after the last change of <see cref="ConfigPath"/> before it is reloaded.</summary>
    public TimeSpan ReloadDebounce { get; init; } = ConfigWatcher.DefaultDebounce;
    public LocalPortPaths Paths { get; init; } = LocalPortPaths.FromEnvironment();
    /// <summary>Replaces tunnels/probes (tests, chaos); null uses the real ones.</summary>
    public LocalPortRuntime? Runtime { get; init; }
    /// <summary>
    /// Take over SIGINT/SIGTERM/SIGHUP/SIGQUIT. Off by default: a host app keeps its own signals. What each signal did
    /// is published on the EventStream as a <see cref="SignalHandled"/>.
    /// </summary>
    public bool HandleSignals { get; init; }
    /// <summary>False: the selected services are known (status shows them stopped) but none starts until a start command.</summary>
    public bool AutoStart { get; init; } = true;
    /// <summary>
    /// When NOTIFY_SOCKET is set (systemd's Type=notify), send READY=1 once the services serve, RELOADING=1/READY=1 around
    /// reloads, STOPPING=1 and WATCHDOG=1 (<see cref="SystemdNotifier"/>). Turn it off in a host that notifies systemd itself.
    /// </summary>
    public bool NotifyServiceManager { get; init; } = true;

    public IEnumerable<ServiceSpec> SelectedServices => Config.Services.Where(IsSelected);

    public bool IsSelected(ServiceSpec service) =>
        (Services is null || Services.Contains(service.Name)) && (Selection is null || Selection(service));
}

public static class LocalPortHostingExtensions
{
    public const string RootName = "localport";
    public const string CoordinatorName = "localport-shutdown";
    public const string ConfigWatcherName = "localport-config-watcher";
    public const string NotifierName = "localport-systemd-notifier";

    /// <summary>Room after LocalPort's four phases for the rest of CoordinatedShutdown (unbind, cluster leave, termination).</summary>
    public static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(5);

    /// <summary>The <c>HostOptions.ShutdownTimeout</c> a host needs so LocalPort's phases can run out their timeouts.</summary>
    public static TimeSpan HostShutdownTimeout(ShutdownTimeouts timeouts) =>
        timeouts.StopNewWork + timeouts.CompleteCurrent + timeouts.CancelTasks + timeouts.ForceCleanup + ShutdownMargin;

    /// <summary>Adds the LocalPort supervision tree to the host's ActorSystem.</summary>
    public static AkkaConfigurationBuilder WithLocalPort(this AkkaConfigurationBuilder builder, LocalPortOptions options)
    {
        builder.AddHocon(LocalPortHocon.WithTimeouts(options.Config.Shutdown), HoconAddMode.Append);
        builder.WithActors((system, registry, resolver) =>
        {
            var runtime = options.Runtime ?? LocalPortRuntime.Real(options.Paths);
            var root = system.ActorOf(LocalPortSupervisor.Props(options.SelectedServices, runtime, options.IsSelected, options.Config.ClusterHealth,
                options.AutoStart), RootName);
            registry.Register<LocalPortSupervisor>(root);

            IActorRef? watcher = null;
            if (options.ConfigPath is { } configPath)
            {
                var loadOptions = options.ConfigLoadOptions;
                watcher = system.ActorOf(ConfigWatcher.Props(configPath, root, path => ConfigLoader.Load(path, loadOptions), options.ReloadDebounce),
                    ConfigWatcherName);
                registry.Register<ConfigWatcher>(watcher);
            }

            var shutdown = CoordinatedShutdown.Get(system);
            WarnIfTheHostStopsFirst(system, shutdown, resolver.GetService<IOptions<HostOptions>>()?.Value);
            var coordinator = system.ActorOf(
                ShutdownCoordinator.Props(root, runtime.Ledger, shutdown.Timeout, runtime.FlushLogs, runtime.OnShutdownCompleted, watcher),
                CoordinatorName);
            registry.Register<ShutdownCoordinator>(coordinator);
            foreach (var phase in ShutdownPhases.All)
            {
                shutdown.AddTask(phase, "localport", async () =>
                {
                    await coordinator.Ask<PhaseReport>(new ShutdownCoordinator.RunPhase(phase), shutdown.Timeout(phase));
                    return Akka.Done.Instance;
                });
            }

            // Nothing of the notifier is touched unless a service manager asked for notifications.
            if (options.NotifyServiceManager && NotifySocket.AddressFromEnvironment() is { } notifyAddress)
                StartNotifier(system, root, notifyAddress);

            if (options.HandleSignals)
            {
                var signals = new SignalBridge(coordinator);
                system.RegisterOnTermination(signals.Dispose);
            }
        });
        return builder;
    }

    private static void StartNotifier(ActorSystem system, IActorRef root, string address)
    {
        if (NotifySocket.EndPointOf(address) is null)
        {
            system.Log.Warning("not notifying the service manager: {NotifySocket} is neither an absolute path nor an abstract '@' name", address);
            return;
        }
        system.ActorOf(SystemdNotifier.Props(address, root, NotifySocket.WatchdogInterval()), NotifierName);
    }

    /// <summary>
    /// Akka.Hosting runs CoordinatedShutdown inside the host's StopAsync: a host that gives up sooner leaves force-cleanup
    /// unrun and tunnels behind. Warned about, not changed: the host's timeout is the host's.
    /// </summary>
    private static void WarnIfTheHostStopsFirst(ActorSystem system, CoordinatedShutdown shutdown, HostOptions? host)
    {
        if (host is null) return;
        var needed = ShutdownPhases.All.Aggregate(TimeSpan.Zero, (sum, phase) => sum + shutdown.Timeout(phase)) + ShutdownMargin;
        if (host.ShutdownTimeout >= needed) return;
        system.Log.Warning(
            $"LocalPort: the host's shutdown timeout ({host.ShutdownTimeout.TotalSeconds:0.#} s) is shorter than LocalPort's shutdown " +
            $"phases may take ({needed.TotalSeconds:0.#} s: their timeouts and {ShutdownMargin.TotalSeconds:0.#} s for the rest of " +
            "CoordinatedShutdown); a slow shutdown would be cut off before force-cleanup and leave tunnels behind. " +
            $"Set HostOptions.ShutdownTimeout to at least {needed.TotalSeconds:0.#} s.");
    }

    /// <summary>
    /// Loads <paramref name="configPath"/> and adds the tree, reloading the file when it changes; invalid files
    /// throw with every problem listed.
    /// </summary>
    public static AkkaConfigurationBuilder WithLocalPort(this AkkaConfigurationBuilder builder, string configPath)
    {
        var result = ConfigLoader.Load(configPath);
        if (!result.Ok)
            throw new InvalidOperationException("invalid LocalPort configuration:" + Environment.NewLine +
                string.Join(Environment.NewLine, result.Errors));
        return builder.WithLocalPort(new LocalPortOptions(result.Config!) { ConfigPath = configPath });
    }
}
