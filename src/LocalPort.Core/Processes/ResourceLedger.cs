using System.Collections.Concurrent;

namespace LocalPort.Core.Processes;

public enum ResourceKind { Process, Listener, File }

/// <summary>One thing we own and must give back: a child (pid + start time), a listener or a file.</summary>
public sealed record LedgerEntry(ResourceKind Kind, string Id, string Description)
{
    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()} {Id} ({Description})";
}

/// <summary>
/// Everything LocalPort has started or created. Force-cleanup empties it, and the shutdown report is
/// checked against it: after shutdown it must be empty.
/// </summary>
public sealed class ResourceLedger
{
    private readonly ConcurrentDictionary<string, LedgerEntry> _entries = new();
    private readonly ConcurrentDictionary<int, ChildProcess> _children = new();
    private readonly ConcurrentDictionary<string, Action> _closeListener = new();

    /// <summary>Raised after a child is added or removed (the daemon persists its children from it).</summary>
    public event Action? ChildrenChanged;

    public IReadOnlyList<LedgerEntry> Entries => _entries.Values.OrderBy(e => e.Kind).ThenBy(e => e.Id, StringComparer.Ordinal).ToList();
    public IReadOnlyCollection<ChildProcess> Children => _children.Values.ToArray();
    public bool IsEmpty => _entries.IsEmpty;

    internal void Track(ChildProcess child)
    {
        _children[child.Pid] = child;
        _entries[Key(ResourceKind.Process, child.Pid.ToString())] =
            new LedgerEntry(ResourceKind.Process, child.Pid.ToString(), $"{child.Description}; start {child.StartTicks}");
        ChildrenChanged?.Invoke();
    }

    internal void Forget(ChildProcess child)
    {
        _children.TryRemove(child.Pid, out _);
        _entries.TryRemove(Key(ResourceKind.Process, child.Pid.ToString()), out _);
        ChildrenChanged?.Invoke();
    }

    /// <summary>A bound port; <paramref name="close"/> closes it if force-cleanup finds it still open.</summary>
    public void TrackListener(string endpoint, string owner, Action? close = null)
    {
        _entries[Key(ResourceKind.Listener, endpoint)] = new LedgerEntry(ResourceKind.Listener, endpoint, owner);
        if (close is not null) _closeListener[endpoint] = close;
    }

    public void ForgetListener(string endpoint)
    {
        _entries.TryRemove(Key(ResourceKind.Listener, endpoint), out _);
        _closeListener.TryRemove(endpoint, out _);
    }

    /// <summary>Closes every listener still registered (a shutdown that skipped the orderly stop of its services).</summary>
    public IReadOnlyList<LedgerEntry> CloseListeners()
    {
        var closed = new List<LedgerEntry>();
        foreach (var entry in _entries.Values.Where(e => e.Kind == ResourceKind.Listener))
        {
            if (_closeListener.TryGetValue(entry.Id, out var close)) close();
            // Closing forgets it; one without a way to close it stays and is reported as left behind.
            if (!_entries.ContainsKey(Key(ResourceKind.Listener, entry.Id))) closed.Add(entry);
        }
        return closed;
    }

    public void TrackFile(string path, string owner) =>
        _entries[Key(ResourceKind.File, path)] = new LedgerEntry(ResourceKind.File, path, owner);

    public void ForgetFile(string path) => _entries.TryRemove(Key(ResourceKind.File, path), out _);

    /// <summary>SIGKILL every child still alive (whole trees) and wait briefly for their exits.</summary>
    public async Task<IReadOnlyList<LedgerEntry>> KillAllAsync(TimeSpan wait)
    {
        var killed = new List<LedgerEntry>();
        var children = Children;
        foreach (var child in children)
        {
            if (_entries.TryGetValue(Key(ResourceKind.Process, child.Pid.ToString()), out var entry)) killed.Add(entry);
            child.Kill();
        }
        await Task.WhenAny(Task.WhenAll(children.Select(c => c.Exited)), Task.Delay(wait));
        return killed;
    }

    /// <summary>For exit paths only (third Ctrl-C, process teardown): blocks the caller.</summary>
    public IReadOnlyList<LedgerEntry> KillAll(TimeSpan wait) => KillAllAsync(wait).GetAwaiter().GetResult();

    /// <summary>Deletes every file still registered (sockets, helpers, pid and state files).</summary>
    public IReadOnlyList<LedgerEntry> DeleteFiles()
    {
        var deleted = new List<LedgerEntry>();
        foreach (var entry in _entries.Values.Where(e => e.Kind == ResourceKind.File))
        {
            try
            {
                File.Delete(entry.Id);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            _entries.TryRemove(Key(ResourceKind.File, entry.Id), out _);
            deleted.Add(entry);
        }
        return deleted;
    }

    private static string Key(ResourceKind kind, string id) => $"{kind}:{id}";
}
