using Akka.Actor;
using Akka.Event;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Actors.Shutdown;

namespace LocalPort.Actors.ServiceManager;

/// <summary>
/// Tells the service manager (systemd's Type=notify) what LocalPort is doing, from the EventStream: READY=1 once every
/// enabled service has settled (<see cref="Readiness"/>), RELOADING=1 / READY=1 around a reload, STOPPING=1 when the
/// shutdown's first phase starts, WATCHDOG=1 every half watchdog period (from this actor's timer, so a stuck
/// dispatcher stops the pings), and STATUS= whenever the one-line summary changes. Started only when NOTIFY_SOCKET is set.
/// </summary>
public sealed class SystemdNotifier : ReceiveActor, IWithTimers
{
    private sealed class WatchdogTick { public static readonly WatchdogTick Instance = new(); private WatchdogTick() { } }
    private sealed record SendFailed(string State, string Error);

    private const string WatchdogTimer = "watchdog";

    private readonly string _address;
    private readonly IActorRef _root;
    private readonly TimeSpan? _watchdogInterval;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private NotifySocket? _socket;
    /// <summary>Null until the root's snapshot arrives: events before it are already in it.</summary>
    private Dictionary<string, ServiceStatus>? _services;
    private bool _ready;
    private bool _reloading;
    private bool _stopping;
    private string? _lastStatus;
    private int _failures;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="address">$NOTIFY_SOCKET (a path or an '@' abstract name); opened in PreStart, so a restart reopens it.</param>
    /// <param name="watchdogInterval">How often to send WATCHDOG=1 (half of WATCHDOG_USEC); null sends none.</param>
    public static Props Props(string address, IActorRef root, TimeSpan? watchdogInterval) =>
        Akka.Actor.Props.Create(() => new SystemdNotifier(address, root, watchdogInterval));

    public SystemdNotifier(string address, IActorRef root, TimeSpan? watchdogInterval)
    {
        _address = address;
        _root = root;
        _watchdogInterval = watchdogInterval;
        Receive<StatusSnapshot>(HandleSnapshot);
        Receive<ServiceStatusChanged>(m => _services is not null, m =>
        {
            _services![m.Status.Name] = m.Status;
            Evaluate();
        });
        Receive<ServiceRemoved>(m => _services is not null, m =>
        {
            _services!.Remove(m.Name);
            Evaluate();
        });
        // Before the snapshot: what changed is in the snapshot already.
        Receive<ServiceStatusChanged>(_ => _log.Debug("systemd notifier: status change before the first snapshot (in it)"));
        Receive<ServiceRemoved>(_ => _log.Debug("systemd notifier: removal before the first snapshot (in it)"));
        Receive<ReloadStarted>(HandleReloadStarted);
        Receive<ReloadResult>(HandleReloadResult);
        Receive<ShutdownPhaseStarted>(_ => HandleStopping());
        Receive<WatchdogTick>(_ => Send("WATCHDOG=1"));
        Receive<SendFailed>(HandleSendFailed);
    }

    protected override void PreStart()
    {
        _socket = NotifySocket.Open(_address);
        // Subscribed before asking, so nothing falls between the snapshot and the first event.
        foreach (var type in new[] { typeof(ServiceStatusChanged), typeof(ServiceRemoved), typeof(ReloadStarted), typeof(ReloadResult), typeof(ShutdownPhaseStarted) })
            Context.System.EventStream.Subscribe(Self, type);
        _root.Tell(GetStatus.Instance);
        if (_watchdogInterval is { } interval)
        {
            Send("WATCHDOG=1");
            Timers.StartPeriodicTimer(WatchdogTimer, WatchdogTick.Instance, interval);
        }
    }

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        _socket?.Dispose();
    }

    private void HandleSnapshot(StatusSnapshot snapshot)
    {
        _services = snapshot.Services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        Evaluate();
    }

    private void Evaluate()
    {
        if (_services is null || _stopping) return;
        var status = Readiness.Describe(_services.Values);
        if (!_ready && Readiness.AllSettled(_services.Values))
        {
            _ready = true;
            _log.Info("systemd: ready ({Status})", status);
            Send($"READY=1\nSTATUS={status}");
            _lastStatus = status;
        }
        else if (status != _lastStatus && !_reloading)
        {
            Send($"STATUS={status}");
            _lastStatus = status;
        }
    }

    /// <summary>Only once ready: a reload while starting is part of the start, and READY still waits for the services.</summary>
    private void HandleReloadStarted(ReloadStarted started)
    {
        if (!_ready || _stopping || _reloading) return;
        _reloading = true;
        Send($"RELOADING=1\nMONOTONIC_USEC={NotifySocket.MonotonicMicroseconds()}\nSTATUS=reloading {OneLine(started.Path)}");
    }

    private void HandleReloadResult(ReloadResult result)
    {
        if (!_reloading || _stopping) return;
        _reloading = false;
        var status = Readiness.Describe(_services?.Values ?? Enumerable.Empty<ServiceStatus>());
        _lastStatus = status;
        Send($"READY=1\nSTATUS={(result.Ok ? "" : "reload refused (see the log); ")}{status}");
    }

    private void HandleStopping()
    {
        if (_stopping) return;
        _stopping = true;
        Send("STOPPING=1\nSTATUS=stopping every service");
    }

    private void Send(string state)
    {
        var self = Self;
        _socket!.SendAsync(state).ContinueWith(t => self.Tell(new SendFailed(state, t.Exception!.GetBaseException().Message)),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    /// <summary>The first failure is a warning (the manager will think we hang); the rest would repeat it every watchdog tick.</summary>
    private void HandleSendFailed(SendFailed failed)
    {
        var first = _failures++ == 0;
        var kind = failed.State.Split('\n')[0];
        if (first) _log.Warning("systemd: could not send {Notification} to {NotifySocket}: {Error}", kind, _address, failed.Error);
        else _log.Debug("systemd: could not send {Notification} to {NotifySocket}: {Error}", kind, _address, failed.Error);
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
