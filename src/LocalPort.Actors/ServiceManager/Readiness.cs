using LocalPort.Actors.Services;

namespace LocalPort.Actors.ServiceManager;

/// <summary>
/// When a service manager may count LocalPort as started: every enabled service has bound its port and serves, or
/// its first start has ended without (it backs off, gave up, waits for its cluster): a forward that cannot connect
/// must not hold the unit in "activating" until the manager kills every forward that does. A start is bounded by the
/// runtime's start timeout, so READY comes within it.
/// </summary>
public static class Readiness
{
    public static bool IsSettled(ServiceStatus service) => service.State switch
    {
        ServiceState.Running or ServiceState.BackingOff or ServiceState.Failed or ServiceState.WaitingForCluster
            or ServiceState.Stopped or ServiceState.Disabled => true,
        // An immediate retry stays Starting: its first attempt has ended once there is an error.
        ServiceState.Starting => service.LastError is not null,
        _ => false,
    };

    public static bool AllSettled(IEnumerable<ServiceStatus> services) => services.All(IsSettled);

    /// <summary>One line for STATUS=: how many enabled services serve, and which do not (first few by name).</summary>
    public static string Describe(IEnumerable<ServiceStatus> services)
    {
        var enabled = services.Where(s => s.State != ServiceState.Disabled).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
        var serving = enabled.Count(s => s.State == ServiceState.Running);
        var notServing = enabled.Where(s => s.State != ServiceState.Running).Select(s => $"{s.Name} {Label(s.State)}").ToList();
        var line = $"serving {serving} of {enabled.Count} service{(enabled.Count == 1 ? "" : "s")}";
        if (notServing.Count == 0) return line;
        const int shown = 5;
        return $"{line}; {string.Join(", ", notServing.Take(shown))}{(notServing.Count > shown ? $" and {notServing.Count - shown} more" : "")}";
    }

    private static string Label(ServiceState state) => state switch
    {
        ServiceState.BackingOff => "backing off",
        ServiceState.WaitingForCluster => "waiting for its cluster",
        _ => state.ToString().ToLowerInvariant(),
    };
}
