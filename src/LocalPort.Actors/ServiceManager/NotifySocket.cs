using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace LocalPort.Actors.ServiceManager;

/// <summary>
/// The service manager's notification socket ($NOTIFY_SOCKET): sd_notify's protocol, one datagram of KEY=VALUE lines
/// per state change, sent to a filesystem path or an abstract ('@') name. No libsystemd and no blocking: a send that
/// cannot complete at once is queued by the runtime, in order, and the caller gets a task.
/// </summary>
/// <remarks>
/// Microsoft.Extensions.Hosting.Systemd is not used: its notifier sends READY=1 when the host has started, before any
/// forward serves; its lifetime takes SIGTERM from our signal owner; it has no RELOADING or WATCHDOG; and it would load
/// one more assembly (two descriptors for the life of the process) for the ~20 lines this class is.
/// </remarks>
public sealed class NotifySocket : IDisposable
{
    public const string SocketVariable = "NOTIFY_SOCKET";
    public const string WatchdogVariable = "WATCHDOG_USEC";
    public const string WatchdogPidVariable = "WATCHDOG_PID";

    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly UnixDomainSocketEndPoint _endpoint;

    /// <summary>As $NOTIFY_SOCKET gave it, for messages.</summary>
    public string Address { get; }

    private NotifySocket(string address, UnixDomainSocketEndPoint endpoint)
    {
        Address = address;
        _endpoint = endpoint;
    }

    /// <summary>$NOTIFY_SOCKET, or null when no service manager asked (unset or empty).</summary>
    public static string? AddressFromEnvironment(Func<string, string?>? getEnv = null) =>
        (getEnv ?? Environment.GetEnvironmentVariable)(SocketVariable) is { Length: > 0 } address ? address : null;

    /// <exception cref="NotSupportedException">The address names a kind of socket other than a Unix one (e.g. vsock:).</exception>
    public static NotifySocket Open(string address) => new(address, EndPointOf(address)
        ?? throw new NotSupportedException($"{SocketVariable}={address} is neither an absolute path nor an abstract '@' name"));

    /// <summary>"/run/…" is a path; "@name" is Linux's abstract namespace (a leading NUL); anything else is not ours.</summary>
    public static UnixDomainSocketEndPoint? EndPointOf(string address) => address switch
    {
        ['/', ..] => new UnixDomainSocketEndPoint(address),
        ['@', _, ..] => new UnixDomainSocketEndPoint("\0" + address[1..]),
        _ => null,
    };

    /// <summary>
    /// Half of WATCHDOG_USEC (as sd_watchdog_enabled advises), or null when there is no watchdog or it is meant for
    /// another process (WATCHDOG_PID set to someone else).
    /// </summary>
    public static TimeSpan? WatchdogInterval(Func<string, string?>? getEnv = null, int? pid = null)
    {
        getEnv ??= Environment.GetEnvironmentVariable;
        if (!long.TryParse(getEnv(WatchdogVariable), out var microseconds) || microseconds <= 0) return null;
        if (getEnv(WatchdogPidVariable) is { Length: > 0 } watchdogPid &&
            (!int.TryParse(watchdogPid, out var forPid) || forPid != (pid ?? Environment.ProcessId))) return null;
        return TimeSpan.FromMicroseconds(microseconds / 2);
    }

    /// <summary>CLOCK_MONOTONIC in microseconds (Stopwatch reads that clock on Linux), for RELOADING's MONOTONIC_USEC.</summary>
    public static long MonotonicMicroseconds() => (long)(Stopwatch.GetTimestamp() * (1_000_000.0 / Stopwatch.Frequency));

    /// <summary>Sends one datagram; the task faults with the SocketException when the manager cannot be reached.</summary>
    public Task SendAsync(string state) =>
        _socket.SendToAsync(Encoding.UTF8.GetBytes(state), SocketFlags.None, _endpoint);

    public void Dispose() => _socket.Dispose();
}
