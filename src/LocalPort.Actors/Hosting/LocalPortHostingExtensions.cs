using Akka.Actor;
using Akka.Hosting;
using LocalPort.Actors.Services;
using LocalPort.Actors.Shutdown;
using LocalPort.Actors.Supervision;
using LocalPort.Core;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Hosting;

/// <summary>What <c>WithLocalPort</c> runs: a validated configuration and, optionally, which services.</summary>
public sealed record LocalPortOptions(LocalPortConfig Config)
{
    /// <summary>Only these services (by name); null means every enabled service.</summary>
    public IReadOnlyCollection<string>? Services { get; init; }
    public LocalPortPaths Paths { get; init; } = LocalPortPaths.FromEnvironment();
    /// <summary>Replaces tunnels/probes (tests, chaos); null uses the real ones.</summary>
    public LocalPortRuntime? Runtime { get; init; }
    /// <summary>Take over SIGINT/SIGTERM/SIGHUP/SIGQUIT. Off by default: a host app keeps its own signals.</summary>
    public bool HandleSignals { get; init; }
    /// <summary>Sees every signal the bridge handles (the CLI prints progress from it).</summary>
    public Action<System.Runtime.InteropServices.PosixSignal, int>? OnSignal { get; init; }

    public IEnumerable<ServiceSpec> SelectedServices =>
        Services is null ? Config.Services : Config.Services.Where(s => Services.Contains(s.Name));
}

public static class LocalPortHostingExtensions
{
    public const string RootName = "localport";
    public const string CoordinatorName = "localport-shutdown";

    /// <summary>Adds the LocalPort supervision tree to the host's ActorSystem.</summary>
    public static AkkaConfigurationBuilder WithLocalPort(this AkkaConfigurationBuilder builder, LocalPortOptions options)
    {
        builder.AddHocon(LocalPortHocon.WithTimeouts(options.Config.Shutdown), HoconAddMode.Append);
        builder.WithActors((system, registry) =>
        {
            var runtime = options.Runtime ?? LocalPortRuntime.Real(options.Paths);
            var root = system.ActorOf(LocalPortSupervisor.Props(options.SelectedServices, runtime), RootName);
            registry.Register<LocalPortSupervisor>(root);

            var shutdown = CoordinatedShutdown.Get(system);
            var coordinator = system.ActorOf(
                ShutdownCoordinator.Props(root, runtime.Ledger, shutdown.Timeout, runtime.FlushLogs, runtime.OnShutdownCompleted),
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

            if (options.HandleSignals)
            {
                var signals = new SignalBridge(system, coordinator, root, runtime.Ledger);
                if (options.OnSignal is not null) signals.Received += options.OnSignal;
                system.RegisterOnTermination(signals.Dispose);
            }
        });
        return builder;
    }

    /// <summary>Loads <paramref name="configPath"/> and adds the tree; invalid files throw with every problem listed.</summary>
    public static AkkaConfigurationBuilder WithLocalPort(this AkkaConfigurationBuilder builder, string configPath)
    {
        var result = ConfigLoader.Load(configPath);
        if (!result.Ok)
            throw new InvalidOperationException("invalid LocalPort configuration:" + Environment.NewLine +
                string.Join(Environment.NewLine, result.Errors));
        return builder.WithLocalPort(new LocalPortOptions(result.Config!));
    }
}
