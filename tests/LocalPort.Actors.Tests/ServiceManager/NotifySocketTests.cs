using System.Net.Sockets;
using System.Text;
using LocalPort.Actors.ServiceManager;

namespace LocalPort.Actors.Tests.ServiceManager;

public sealed class NotifySocketTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void A_path_and_an_abstract_name_are_addresses_and_other_kinds_are_not()
    {
        Assert.Equal("/run/user/1000/systemd/notify", NotifySocket.EndPointOf("/run/user/1000/systemd/notify")!.ToString());
        Assert.NotNull(NotifySocket.EndPointOf("@/org/freedesktop/systemd1/notify"));
        Assert.Null(NotifySocket.EndPointOf("vsock:2:1234"));
        Assert.Null(NotifySocket.EndPointOf("relative/notify"));
        Assert.Null(NotifySocket.EndPointOf("@"));
        Assert.Throws<NotSupportedException>(() => NotifySocket.Open("vsock:2:1234"));
    }

    [Fact]
    public void No_socket_variable_means_no_notifications()
    {
        Assert.Null(NotifySocket.AddressFromEnvironment(Env()));
        Assert.Null(NotifySocket.AddressFromEnvironment(Env(("NOTIFY_SOCKET", ""))));
        Assert.Equal("/run/n", NotifySocket.AddressFromEnvironment(Env(("NOTIFY_SOCKET", "/run/n"))));
    }

    [Fact]
    public void The_watchdog_pings_at_half_its_period_and_only_for_the_process_it_names()
    {
        Assert.Equal(TimeSpan.FromSeconds(15), NotifySocket.WatchdogInterval(Env(("WATCHDOG_USEC", "30000000")), pid: 42));
        Assert.Equal(TimeSpan.FromSeconds(15), NotifySocket.WatchdogInterval(Env(("WATCHDOG_USEC", "30000000"), ("WATCHDOG_PID", "42")), pid: 42));
        Assert.Null(NotifySocket.WatchdogInterval(Env(("WATCHDOG_USEC", "30000000"), ("WATCHDOG_PID", "43")), pid: 42));
        Assert.Null(NotifySocket.WatchdogInterval(Env(("WATCHDOG_USEC", "0")), pid: 42));
        Assert.Null(NotifySocket.WatchdogInterval(Env(("WATCHDOG_USEC", "soon")), pid: 42));
        Assert.Null(NotifySocket.WatchdogInterval(Env(), pid: 42));
    }

    [Fact]
    public async Task A_notification_is_one_datagram_on_an_abstract_socket()
    {
        var name = $"@localport-test-{Guid.NewGuid():N}";
        using var manager = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        manager.Bind(NotifySocket.EndPointOf(name)!);
        using var notify = NotifySocket.Open(name);

        await notify.SendAsync("READY=1\nSTATUS=serving 1 of 1 service");

        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var length = await manager.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        Assert.Equal("READY=1\nSTATUS=serving 1 of 1 service", Encoding.UTF8.GetString(buffer, 0, length));
    }

    [Fact]
    public async Task A_manager_that_is_gone_fails_the_send_instead_of_hanging_it()
    {
        using var directory = new TempDir();
        using var notify = NotifySocket.Open(Path.Combine(directory.Path, "nobody-listens"));
        var send = notify.SendAsync("READY=1");
        await Assert.ThrowsAnyAsync<SocketException>(() => send.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("lp-notify-").FullName;
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
