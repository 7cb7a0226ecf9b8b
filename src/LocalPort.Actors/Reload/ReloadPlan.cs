using LocalPort.Core.Config;

namespace LocalPort.Actors.Reload;

/// <summary>The difference between the running services and a new configuration, by service name.</summary>
public sealed record ReloadPlan(
    IReadOnlyList<ServiceSpec> Add,
    IReadOnlyList<string> Remove,
    IReadOnlyList<ServiceSpec> Enable,
    IReadOnlyList<ServiceSpec> Disable,
    IReadOnlyList<ServiceSpec> Restart,
    IReadOnlyList<ServiceSpec> Update)
{
    /// <param name="running">Every service the root knows (enabled or not).</param>
    /// <param name="next">The new configuration's services, already narrowed to the root's selection.</param>
    public static ReloadPlan Between(IEnumerable<ServiceSpec> running, IEnumerable<ServiceSpec> next)
    {
        var before = running.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var after = next.ToDictionary(s => s.Name, StringComparer.Ordinal);
        List<ServiceSpec> add = [], enable = [], disable = [], restart = [], update = [];
        foreach (var spec in after.Values)
        {
            if (!before.TryGetValue(spec.Name, out var old)) add.Add(spec);
            else if (!old.Enabled && spec.Enabled) enable.Add(spec);
            else if (old.Enabled && !spec.Enabled) disable.Add(spec);
            else if (spec.Enabled && SpecComparison.NeedsRestart(old, spec)) restart.Add(spec);
            else if (!SpecComparison.Same(old, spec)) update.Add(spec);
        }
        var remove = before.Keys.Where(name => !after.ContainsKey(name)).ToList();
        return new ReloadPlan(Sorted(add), remove.Order(StringComparer.Ordinal).ToList(), Sorted(enable), Sorted(disable),
            Sorted(restart), Sorted(update));
    }

    private static List<ServiceSpec> Sorted(List<ServiceSpec> specs) => specs.OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
}
