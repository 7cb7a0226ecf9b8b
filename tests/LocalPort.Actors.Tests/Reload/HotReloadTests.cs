using Akka.Actor;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Tests.Reload;

/// <summary>The watcher and a real root together: a file on disk, `daemon reload`, fake tunnels.</summary>
public sealed class HotReloadTests : ReloadTestKit
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lp-reload-").FullName;
    private readonly int _webPort = FreePort.Next();
    private readonly int _dbPort = FreePort.Next();

    private string FilePath => Path.Combine(_directory, "localport.yaml");

    private string Service(string name, int port) => $$"""
          - name: {{name}}
            technology: tcp
            local_port: {{port}}
            remote_port: 80
            connection: { host: 127.0.0.1 }

        """;

    private (IActorRef Root, IActorRef Watcher) Start()
    {
        File.WriteAllText(FilePath, "services:\n" + Service("web", _webPort));
        var config = ConfigLoader.Load(FilePath);
        Assert.True(config.Ok, string.Join("\n", config.Diagnostics));
        var root = StartRoot(config.Config!.Services.ToArray());
        ExpectStatus("web", s => s.State == ServiceState.Running);
        var watcher = Sys.ActorOf(ConfigWatcher.Props(FilePath, root, watchFile: false));
        Sys.EventStream.Subscribe(TestActor, typeof(ReloadResult));
        return (root, watcher);
    }

    [Fact]
    public void Daemon_reload_applies_the_file_and_reports_the_diff()
    {
        var (root, watcher) = Start();
        File.WriteAllText(FilePath, "services:\n" + Service("web", _webPort) + Service("db", _dbPort));

        watcher.Tell(ReloadConfig.Instance, TestActor);

        var result = FishForMessage<ReloadResult>(_ => true, TimeSpan.FromSeconds(5));
        Assert.True(result.Ok, result.Error);
        Assert.Equal(["db"], result.Added);
        Assert.Same(result, watcher.Ask<LastReload>(GetLastReload.Instance, TimeSpan.FromSeconds(3)).Result.Result);
        // The result came through the watcher, so db's own events may have gone by already: ask the root.
        AwaitCondition(() => Snapshot(root).Any(s => s is { Name: "db", State: ServiceState.Running }), TimeSpan.FromSeconds(3));
        Assert.Equal(["db", "web"], Snapshot(root).Select(s => s.Name));
    }

    [Fact]
    public void An_invalid_file_is_refused_and_the_old_services_keep_running()
    {
        var (root, watcher) = Start();
        var tunnel = Tunnels.Next();
        File.WriteAllText(FilePath, "services:\n" + Service("db", 0) + "    health_check: { interval: soon }\n");

        watcher.Tell(ReloadConfig.Instance, TestActor);

        var result = FishForMessage<ReloadResult>(_ => true, TimeSpan.FromSeconds(5));
        Assert.False(result.Ok);
        Assert.Contains($"{FilePath}:4:", result.Error);
        Assert.Contains($"{FilePath}:7:", result.Error);
        Assert.Equal(ServiceState.Running, Snapshot(root).Single(s => s.Name == "web").State);
        Assert.False(tunnel.StoppedGracefully || tunnel.Killed);
        Assert.False(watcher.Ask<LastReload>(GetLastReload.Instance, TimeSpan.FromSeconds(3)).Result.Result!.Ok);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Directory.Delete(_directory, recursive: true);
    }
}
