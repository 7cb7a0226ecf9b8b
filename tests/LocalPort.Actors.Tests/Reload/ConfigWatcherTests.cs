using Akka.Actor;
using Akka.TestKit;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Tests.Reload;

/// <summary>The watcher's own logic under virtual time; file events are told to it directly.</summary>
public sealed class ConfigWatcherTests : VirtualTimeTestKit
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(300);
    private readonly string _directory = Directory.CreateTempSubdirectory("lp-watch-").FullName;
    private readonly TestProbe _root;
    private int _loads;

    public ConfigWatcherTests() => _root = CreateTestProbe();

    private string FilePath => Path.Combine(_directory, "localport.yaml");

    private IActorRef StartWatcher(Func<string, ConfigLoadResult>? loader = null) =>
        Sys.ActorOf(ConfigWatcher.Props(FilePath, _root.Ref, path =>
        {
            Interlocked.Increment(ref _loads);
            return (loader ?? ValidConfig)(path);
        }, Debounce, watchFile: false));

    private static ConfigLoadResult ValidConfig(string path) => ConfigLoader.LoadText("""
        services:
          - { name: web, technology: tcp, local_port: 18080, remote_port: 80, connection: { host: 127.0.0.1 } }
        """, path);

    /// <summary>A round trip: everything told before it has been handled.</summary>
    private static LastReload Sync(IActorRef watcher) =>
        watcher.Ask<LastReload>(GetLastReload.Instance, TimeSpan.FromSeconds(3)).Result;

    private static ReloadResult Diff(params string[] added) => new(true, added, [], [], [], null, DateTimeOffset.Now);

    [Fact]
    public void A_burst_of_changes_within_the_debounce_window_reloads_once()
    {
        var watcher = StartWatcher();
        for (var i = 0; i < 5; i++)
        {
            watcher.Tell(ConfigWatcher.FileChanged.Instance);
            Sync(watcher);
            Advance(TimeSpan.FromMilliseconds(100));
        }
        Advance(Debounce - TimeSpan.FromMilliseconds(101));
        _root.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        Advance(TimeSpan.FromMilliseconds(1));

        _root.ExpectMsg<ApplyConfig>(TimeSpan.FromSeconds(3));
        _root.Reply(Diff());
        AwaitCondition(() => Sync(watcher).Result is not null, TimeSpan.FromSeconds(3));
        Advance(TimeSpan.FromSeconds(5));
        _root.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(1, _loads);
    }

    [Fact]
    public void An_invalid_file_is_refused_with_every_problem_and_its_line()
    {
        File.WriteAllText(FilePath, """
            version: "1.0"
            services:
              - name: web
                technology: tcp
                local_port: 70000
                remote_port: 80
                connection: { host: 127.0.0.1 }
              - name: db
                technology: carrier-pigeon
                local_port: 5432
                remote_port: 5432
            """);
        var watcher = StartWatcher(path => ConfigLoader.Load(path));
        Sys.EventStream.Subscribe(TestActor, typeof(ReloadResult));

        watcher.Tell(ReloadConfig.Instance, TestActor);

        var result = ExpectMsg<ReloadResult>(TimeSpan.FromSeconds(3));
        Assert.False(result.Ok);
        Assert.Contains($"{FilePath}:5:", result.Error);
        Assert.Contains($"{FilePath}:9:", result.Error);
        _root.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Same(result, ExpectMsg<ReloadResult>(TimeSpan.FromSeconds(3)));
        Assert.Same(result, Sync(watcher).Result);
    }

    [Fact]
    public void Reload_config_replies_with_the_diff_the_root_applied()
    {
        var watcher = StartWatcher();
        Assert.Null(Sync(watcher).Result);

        watcher.Tell(ReloadConfig.Instance, TestActor);

        Assert.Equal(["web"], _root.ExpectMsg<ApplyConfig>(TimeSpan.FromSeconds(3)).Config.Services.Select(s => s.Name));
        var applied = Diff("web");
        _root.Reply(applied);
        Assert.Same(applied, ExpectMsg<ReloadResult>(TimeSpan.FromSeconds(3)));
        Assert.Same(applied, Sync(watcher).Result);
    }

    [Fact]
    public void A_reload_requested_during_another_waits_for_it()
    {
        var watcher = StartWatcher();
        watcher.Tell(ReloadConfig.Instance, TestActor);
        _root.ExpectMsg<ApplyConfig>(TimeSpan.FromSeconds(3));
        var first = _root.LastSender;

        watcher.Tell(ReloadConfig.Instance, TestActor);
        _root.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        first.Tell(Diff("one"), _root.Ref);

        Assert.Equal(["one"], ExpectMsg<ReloadResult>(TimeSpan.FromSeconds(3)).Added);
        _root.ExpectMsg<ApplyConfig>(TimeSpan.FromSeconds(3));
        _root.Reply(Diff("two"));
        Assert.Equal(["two"], ExpectMsg<ReloadResult>(TimeSpan.FromSeconds(3)).Added);
    }

    [Fact]
    public void After_stop_watching_every_reload_is_refused()
    {
        var watcher = StartWatcher();

        watcher.Tell(StopWatching.Instance, TestActor);
        ExpectMsg<WatchingStopped>(TimeSpan.FromSeconds(3));
        watcher.Tell(ConfigWatcher.FileChanged.Instance);
        watcher.Tell(ReloadConfig.Instance, TestActor);

        var result = ExpectMsg<ReloadResult>(TimeSpan.FromSeconds(3));
        Assert.False(result.Ok);
        Assert.Equal("shutting down", result.Error);
        Advance(TimeSpan.FromSeconds(5));
        _root.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, _loads);
    }

    [Fact]
    public void A_loader_that_throws_is_a_refused_reload()
    {
        var watcher = StartWatcher(_ => throw new IOException("disk on fire"));

        watcher.Tell(ReloadConfig.Instance, TestActor);

        var result = ExpectMsg<ReloadResult>(TimeSpan.FromSeconds(3));
        Assert.False(result.Ok);
        Assert.Contains("disk on fire", result.Error);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Directory.Delete(_directory, recursive: true);
    }
}
