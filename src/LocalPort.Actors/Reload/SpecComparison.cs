using LocalPort.Core.Config;

namespace LocalPort.Actors.Reload;

/// <summary>
/// Structural comparison of service settings. Records compare lists, dictionaries and secrets by
/// reference, so two loads of one unchanged file would look different; these helpers compare contents.
/// </summary>
public static class SpecComparison
{
    private static readonly IReadOnlyList<string> NoStrings = [];
    private static readonly IReadOnlyList<int> NoInts = [];
    private static readonly IReadOnlyDictionary<string, string> NoOptions = new Dictionary<string, string>();
    private static readonly IReadOnlyDictionary<string, Secret> NoHeaders = new Dictionary<string, Secret>();

    /// <summary>What the tunnel is made of: a change here needs a new tunnel and a new listener.</summary>
    public static bool NeedsRestart(ServiceSpec before, ServiceSpec after) =>
        before.Technology != after.Technology
        || before.LocalPort != after.LocalPort
        || before.RemotePort != after.RemotePort
        || !SameConnection(before.Connection, after.Connection);

    /// <summary>Every setting the same.</summary>
    public static bool Same(ServiceSpec before, ServiceSpec after) =>
        !NeedsRestart(before, after)
        && before.Enabled == after.Enabled
        && before.Priority == after.Priority
        && before.Description == after.Description
        && before.Tags.SequenceEqual(after.Tags)
        && before.RestartPolicy == after.RestartPolicy
        && before.Chaos.SequenceEqual(after.Chaos)
        && SameHealthCheck(before.HealthCheck, after.HealthCheck);

    public static bool SameHealthCheck(HealthCheckSpec before, HealthCheckSpec after) =>
        before with { Settings = HealthCheckSettings.Empty } == after with { Settings = HealthCheckSettings.Empty }
        && SameSettings(before.Settings, after.Settings);

    /// <summary>Whether the probe itself must be rebuilt (interval and thresholds are the health actor's own).</summary>
    public static bool SameProbe(HealthCheckSpec before, HealthCheckSpec after) =>
        before.Type == after.Type && before.Timeout == after.Timeout && SameSettings(before.Settings, after.Settings);

    private static bool SameConnection(ConnectionSpec before, ConnectionSpec after) => (before, after) switch
    {
        (SshConnection a, SshConnection b) =>
            a with { Options = NoOptions, Password = null } == b with { Options = NoOptions, Password = null }
            && SameSecret(a.Password, b.Password)
            && SameMap(a.Options, b.Options, string.Equals),
        _ => before == after,
    };

    private static bool SameSettings(HealthCheckSettings a, HealthCheckSettings b) =>
        Blank(a) == Blank(b)
        && SameSecret(a.Password, b.Password)
        && a.ExpectedStatusCodes.SequenceEqual(b.ExpectedStatusCodes)
        && a.Command.SequenceEqual(b.Command)
        && SameMap(a.Headers, b.Headers, SameSecret);

    private static HealthCheckSettings Blank(HealthCheckSettings s) =>
        s with { ExpectedStatusCodes = NoInts, Headers = NoHeaders, Password = null, Command = NoStrings };

    private static bool SameSecret(Secret? a, Secret? b) => a?.Reveal() == b?.Reveal();

    private static bool SameMap<T>(IReadOnlyDictionary<string, T> a, IReadOnlyDictionary<string, T> b, Func<T, T, bool> same) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var other) && same(pair.Value, other));
}
