using Akka.Actor;
using Akka.Event;
using LocalPort.Actors.Services;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Reload;

/// <summary>
/// Watches the configuration file and reloads it: file events (debounced), SIGHUP and `daemon reload`
/// (<see cref="ReloadConfig"/>, answered with the <see cref="ReloadResult"/>). An invalid file is refused
/// and the old configuration keeps running; a valid one goes to the root as <see cref="ApplyConfig"/>.
/// Every result is kept (<see cref="GetLastReload"/>) and published on the EventStream.
/// It watches the file's directory, not the file: editors that save by renaming a new file over the old
/// one (vim, IDEs) or by delete-and-create would leave a watch on the file itself pointing at nothing.
/// </summary>
public sealed class ConfigWatcher : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>Something happened to the file (told by the FileSystemWatcher's threads; internal for tests).</summary>
    internal sealed class FileChanged { public static readonly FileChanged Instance = new(); private FileChanged() { } }
    private sealed class DebounceElapsed { public static readonly DebounceElapsed Instance = new(); }
    private sealed record Loaded(ConfigLoadResult? Result, string? Failure);

    public static readonly TimeSpan DefaultDebounce = TimeSpan.FromMilliseconds(300);
    private const string DebounceTimer = "debounce";

    private readonly string _path;
    private readonly IActorRef _root;
    private readonly Func<string, ConfigLoadResult> _loader;
    private readonly TimeSpan _debounce;
    private readonly bool _watchFile;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private FileSystemWatcher? _watcher;
    private ReloadResult? _last;
    private IActorRef? _replyTo;
    private bool _busy;
    private bool _stopped;

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    /// <param name="loader">Reads and validates the file; default <see cref="ConfigLoader.Load"/>.</param>
    /// <param name="debounce">Quiet time after the last file event before reloading; default 300 ms.</param>
    /// <param name="watchFile">False leaves file events to the caller (tests tell <see cref="FileChanged"/>).</param>
    public static Props Props(string configPath, IActorRef root, Func<string, ConfigLoadResult>? loader = null,
        TimeSpan? debounce = null, bool watchFile = true) =>
        Akka.Actor.Props.Create(() => new ConfigWatcher(configPath, root, loader, debounce, watchFile));

    public ConfigWatcher(string configPath, IActorRef root, Func<string, ConfigLoadResult>? loader, TimeSpan? debounce, bool watchFile)
    {
        _path = Path.GetFullPath(configPath);
        _root = root;
        _loader = loader ?? (path => ConfigLoader.Load(path));
        _debounce = debounce ?? DefaultDebounce;
        _watchFile = watchFile;
        Idle();
    }

    protected override void PreStart()
    {
        Context.Watch(_root);
        if (_watchFile) _watcher = StartFileWatcher();
    }

    protected override void PostStop() => _watcher?.Dispose();

    private FileSystemWatcher? StartFileWatcher()
    {
        var directory = Path.GetDirectoryName(_path)!;
        var name = Path.GetFileName(_path);
        if (!Directory.Exists(directory))
        {
            _log.Warning("not watching {Path}: its directory does not exist; SIGHUP and `daemon reload` still reload", _path);
            return null;
        }
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        bool Ours(string? file) => string.Equals(file, name, comparison);
        // Runs on the watcher's threads: only tell the actor, never touch its state.
        var self = Self;
        var watcher = new FileSystemWatcher(directory)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            IncludeSubdirectories = false,
        };
        watcher.Changed += (_, e) => { if (Ours(e.Name)) self.Tell(FileChanged.Instance); };
        watcher.Created += (_, e) => { if (Ours(e.Name)) self.Tell(FileChanged.Instance); };
        watcher.Deleted += (_, e) => { if (Ours(e.Name)) self.Tell(FileChanged.Instance); };
        watcher.Renamed += (_, e) => { if (Ours(e.Name) || Ours(e.OldName)) self.Tell(FileChanged.Instance); };
        // An overflowed event buffer may have swallowed our file's events: read it again to be sure.
        watcher.Error += (_, _) => self.Tell(FileChanged.Instance);
        watcher.EnableRaisingEvents = true;
        return watcher;
    }

    private void Idle()
    {
        Receive<FileChanged>(_ => Timers.StartSingleTimer(DebounceTimer, DebounceElapsed.Instance, _debounce));
        Receive<DebounceElapsed>(_ => StartReload(replyTo: null));
        Receive<ReloadConfig>(_ =>
        {
            Timers.Cancel(DebounceTimer);
            StartReload(Sender.IsNobody() ? null : Sender);
        });
        Common();
    }

    /// <summary>Loading the file or waiting for the root: later reloads wait their turn.</summary>
    private void Busy()
    {
        Receive<Loaded>(HandleLoaded);
        Receive<ReloadResult>(Finish);
        // A change mid-reload still gets its own reload once this one is done.
        Receive<FileChanged>(_ => Timers.StartSingleTimer(DebounceTimer, DebounceElapsed.Instance, _debounce));
        Receive<DebounceElapsed>(_ => Stash.Stash());
        Receive<ReloadConfig>(_ => Stash.Stash());
        Receive<Terminated>(m => m.ActorRef.Equals(_root), _ =>
        {
            StopWatchingNow();
            Finish(ReloadResult.ShuttingDown());
        });
        Common();
    }

    private void Stopped()
    {
        Receive<ReloadConfig>(_ =>
        {
            if (!Sender.IsNobody()) Sender.Tell(ReloadResult.ShuttingDown());
        });
        Receive<FileChanged>(_ => { });
        Receive<DebounceElapsed>(_ => { });
        Common();
    }

    private void Common()
    {
        Receive<GetLastReload>(_ => Sender.Tell(new LastReload(_last) { ConfigPath = _path }));
        Receive<StopWatching>(_ =>
        {
            StopWatchingNow();
            Sender.Tell(WatchingStopped.Instance);
        });
        Receive<Terminated>(m => m.ActorRef.Equals(_root), _ => StopWatchingNow());
    }

    /// <summary>Shutdown's stop-new-work: no more file events and no more reloads (one in flight finishes).</summary>
    private void StopWatchingNow()
    {
        if (_stopped) return;
        _stopped = true;
        _watcher?.Dispose();
        _watcher = null;
        Timers.Cancel(DebounceTimer);
        if (!_busy) Become(Stopped);
    }

    private void StartReload(IActorRef? replyTo)
    {
        _replyTo = replyTo;
        _busy = true;
        Become(Busy);
        Context.System.EventStream.Publish(new ReloadStarted(_path));
        var loader = _loader;
        var path = _path;
        Task.Run(() => loader(path)).ContinueWith(t => t.IsCompletedSuccessfully
            ? new Loaded(t.Result, null)
            : new Loaded(null, t.Exception?.GetBaseException().Message ?? "loading was cancelled"), TaskScheduler.Default).PipeTo(Self);
    }

    private void HandleLoaded(Loaded loaded)
    {
        if (_stopped)
        {
            Finish(ReloadResult.ShuttingDown());
            return;
        }
        if (loaded.Result is not { Ok: true } result)
        {
            Finish(ReloadResult.Refused(loaded.Result is null ? $"{_path}: cannot load: {loaded.Failure}" : Describe(loaded.Result)));
            return;
        }
        foreach (var warning in result.Warnings) _log.Warning("{Warning}", warning);
        _root.Tell(new ApplyConfig(result.Config!));
    }

    /// <summary>Every problem, one per line, each with file:line:column.</summary>
    private string Describe(ConfigLoadResult result)
    {
        var errors = result.Errors.Select(e => e.ToString()).ToList();
        return errors.Count > 0 ? string.Join(Environment.NewLine, errors) : $"{_path}: configuration could not be loaded";
    }

    private void Finish(ReloadResult result)
    {
        _last = result;
        if (result.Ok) _log.Info("{Reload}", result);
        else _log.Warning("{Reload}", result);
        Context.System.EventStream.Publish(result);
        _replyTo?.Tell(result);
        _replyTo = null;
        _busy = false;
        if (_stopped) Become(Stopped);
        else Become(Idle);
        Stash.UnstashAll();
    }
}
