using LocalPort.Actors.Services;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Reload;

/// <summary>
/// Ask the root to move to <paramref name="Config"/>: it diffs by service name (within its service
/// selection) and answers with a <see cref="ReloadResult"/> once every stop and start has been done.
/// Reloads are applied one at a time, in arrival order.
/// </summary>
public sealed record ApplyConfig(LocalPortConfig Config);

/// <summary>
/// What a reload did. <c>Added</c> holds new names and services switched to <c>enabled: true</c>;
/// <c>Removed</c> holds dropped names and services switched to <c>enabled: false</c>; <c>Restarted</c> holds
/// services whose connection, technology or ports changed, and failed services given a fresh start;
/// <c>UpdatedInPlace</c> holds services whose health check, restart policy or other settings changed
/// without dropping their forward. A refused reload has <c>Ok = false</c>, empty lists and an <c>Error</c>
/// naming every problem (file:line:column for an invalid file); the running configuration is unchanged.
/// </summary>
public sealed record ReloadResult(
    bool Ok,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Removed,
    IReadOnlyList<string> Restarted,
    IReadOnlyList<string> UpdatedInPlace,
    string? Error,
    DateTimeOffset At)
{
    public static ReloadResult Refused(string error) => new(false, [], [], [], [], error, DateTimeOffset.Now);

    /// <summary>Refused because LocalPort is stopping (callers answer 503, not "invalid file").</summary>
    public static ReloadResult ShuttingDown() => Refused("shutting down") with { Code = RefusalCode.ShuttingDown };

    /// <summary>Why a reload was refused, when it was not the file's fault; null otherwise.</summary>
    public RefusalCode? Code { get; init; }

    /// <summary>True when the reload changed nothing (a method, so serializers leave it out).</summary>
    public bool ChangedNothing() => Added.Count + Removed.Count + Restarted.Count + UpdatedInPlace.Count == 0;

    /// <summary>One line for logs and `daemon reload`.</summary>
    public override string ToString() => Ok
        ? ChangedNothing() ? "reload: no changes"
            : "reload:" + Part("added", Added) + Part("removed", Removed) + Part("restarted", Restarted) + Part("updated", UpdatedInPlace)
        : $"reload refused: {Error}";

    private static string Part(string label, IReadOnlyList<string> names) =>
        names.Count == 0 ? "" : $" {label} {string.Join(", ", names)};";
}

/// <summary>Published on the EventStream when the <see cref="ConfigWatcher"/> starts reading the file; its <see cref="ReloadResult"/> follows.</summary>
public sealed record ReloadStarted(string Path);

/// <summary>
/// From the root to a service's forward and health actors: the service's new settings, which they apply
/// without restarting (new health interval and probe, new restart policy for future failures).
/// </summary>
public sealed record UpdateSpec(ServiceSpec Spec);

/// <summary>Ask the <see cref="ConfigWatcher"/> for the last <see cref="ReloadResult"/>; answered with <see cref="LastReload"/>.</summary>
public sealed class GetLastReload
{
    public static readonly GetLastReload Instance = new();
    private GetLastReload() { }
}

/// <summary>The last reload, or null when none was tried since start, and the file being watched.</summary>
public sealed record LastReload(ReloadResult? Result)
{
    public string? ConfigPath { get; init; }
}

/// <summary>
/// Shutdown's stop-new-work: the <see cref="ConfigWatcher"/> stops watching and refuses every later reload;
/// answered with <see cref="WatchingStopped"/>.
/// </summary>
public sealed class StopWatching
{
    public static readonly StopWatching Instance = new();
    private StopWatching() { }
}

public sealed class WatchingStopped
{
    public static readonly WatchingStopped Instance = new();
    private WatchingStopped() { }
}
