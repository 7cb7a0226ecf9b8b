using Akka.Actor;
using Akka.Hosting;
using LocalPort.Actors.Services;
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

    public IEnumerable<ServiceSpec> SelectedServices =>
        Services is null ? Config.Services : Config.Services.Where(s => Services.Contains(s.Name));
}

public static class LocalPortHostingExtensions
{
    public const string RootName = "localport";

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
            var budget = shutdown.Timeout("localport-cancel-tasks");
            shutdown.AddTask("localport-cancel-tasks", "stop-services", async () =>
            {
                await root.Ask<AllStopped>(StopAll.Instance, budget);
                return Akka.Done.Instance;
            });
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
