using Akka.Configuration;

namespace LocalPort.Actors.Hosting;

/// <summary>The HOCON shipped in hocon/ (embedded), plus shutdown timeouts from localport.yaml.</summary>
public static class LocalPortHocon
{
    public static string Text { get; } = Read("hocon.localport.hocon");

    public static Config WithTimeouts(Core.Config.ShutdownTimeouts timeouts) =>
        ConfigurationFactory.ParseString($$"""
            akka.coordinated-shutdown.phases {
              localport-stop-new-work.timeout = {{Ms(timeouts.StopNewWork)}}
              localport-complete-current.timeout = {{Ms(timeouts.CompleteCurrent)}}
              localport-cancel-tasks.timeout = {{Ms(timeouts.CancelTasks)}}
              localport-force-cleanup.timeout = {{Ms(timeouts.ForceCleanup)}}
            }
            """).WithFallback(ConfigurationFactory.ParseString(Text));

    /// <summary>
    /// The four phases' timeouts added up, read back from the HOCON the ActorSystem gets (localport.yaml over hocon/):
    /// the longest a shutdown can take before force-cleanup's end.
    /// </summary>
    public static TimeSpan PhaseTimeoutSum(Core.Config.ShutdownTimeouts timeouts)
    {
        var config = WithTimeouts(timeouts);
        return Shutdown.ShutdownPhases.All.Aggregate(TimeSpan.Zero,
            (sum, phase) => sum + config.GetTimeSpan($"akka.coordinated-shutdown.phases.{phase}.timeout"));
    }

    private static string Ms(TimeSpan value) => $"{(long)value.TotalMilliseconds} ms";

    private static string Read(string name)
    {
        using var stream = typeof(LocalPortHocon).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded resource {name} is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
