using LocalPort.Core.Processes;

namespace LocalPort.Cli.Running;

/// <summary>
/// Once start-up has settled, gives back what it alone needed: a full compacting collection that returns the GC's
/// free regions to the kernel, then the native heap's free pages. Start-up (config, JIT, Akka, Kestrel, 100 binds)
/// leaves several MiB of both that an idle supervisor never touches again (bench figure 5). Runs once.
/// </summary>
internal static class SettledMemory
{
    /// <summary>Long enough for every service's first start, short enough to come before anyone looks at the process.</summary>
    public static readonly TimeSpan After = TimeSpan.FromSeconds(3);

    /// <param name="stopping">Completes when the shutdown starts: a blocking collection then would only delay it.</param>
    public static void TrimLater(Task stopping) => _ = Task.Run(async () =>
    {
        if (await Task.WhenAny(Task.Delay(After), stopping) == stopping) return;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Posix.TrimNativeHeap();
    });
}
