namespace LocalPort.Actors.Shutdown;

/// <summary>The four CoordinatedShutdown phases declared in hocon/localport.hocon, in order.</summary>
public static class ShutdownPhases
{
    public const string StopNewWork = "localport-stop-new-work";
    public const string CompleteCurrent = "localport-complete-current";
    public const string CancelTasks = "localport-cancel-tasks";
    public const string ForceCleanup = "localport-force-cleanup";

    public static IReadOnlyList<string> All { get; } = [StopNewWork, CompleteCurrent, CancelTasks, ForceCleanup];

    public static int IndexOf(string phase) => All.ToList().IndexOf(phase);
}
