using Akka.Actor;
using Akka.TestKit;
using LocalPort.Actors.Reload;

namespace LocalPort.Actors.Tests.Reload;

/// <summary>A real FileSystemWatcher on a temporary directory, saving the way editors do.</summary>
public sealed class ConfigWatcherFileTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(150);
    private readonly string _directory = Directory.CreateTempSubdirectory("lp-watch-").FullName;
    private readonly TestProbe _root;

    public ConfigWatcherFileTests() : base("akka.loglevel = WARNING") => _root = CreateTestProbe();

    private string FilePath => Path.Combine(_directory, "localport.yaml");

    private static string Yaml(int port) => $$"""
        services:
          - { name: web, technology: tcp, local_port: {{port}}, remote_port: 80, connection: { host: 127.0.0.1 } }
        """;

    private IActorRef StartWatcher()
    {
        File.WriteAllText(FilePath, Yaml(18080));
        var watcher = Sys.ActorOf(ConfigWatcher.Props(FilePath, _root.Ref, debounce: Debounce));
        // Answered after PreStart, so the FileSystemWatcher is already listening.
        watcher.Ask<LastReload>(GetLastReload.Instance, TimeSpan.FromSeconds(3)).Wait();
        return watcher;
    }

    /// <summary>Exactly one ApplyConfig carrying <paramref name="port"/>, and nothing after it.</summary>
    private void ExpectOneReload(int port)
    {
        var apply = _root.ExpectMsg<ApplyConfig>(TimeSpan.FromSeconds(5));
        Assert.Equal(port, apply.Config.Services.Single().LocalPort);
        _root.Reply(ReloadResult.Refused("test: nothing applied"));
        _root.ExpectNoMsg(Debounce * 5);
    }

    [Fact]
    public void Renaming_a_new_file_over_the_old_one_reloads_exactly_once()
    {
        StartWatcher();
        var temporary = Path.Combine(_directory, ".localport.yaml.swp");

        File.WriteAllText(temporary, Yaml(18081));
        File.Move(temporary, FilePath, overwrite: true);

        ExpectOneReload(18081);
    }

    [Fact]
    public void Deleting_and_creating_the_file_reloads_exactly_once()
    {
        StartWatcher();

        File.Delete(FilePath);
        File.WriteAllText(FilePath, Yaml(18082));

        ExpectOneReload(18082);
    }

    [Fact]
    public void Files_next_to_it_are_ignored()
    {
        StartWatcher();

        File.WriteAllText(Path.Combine(_directory, "other.yaml"), Yaml(18083));

        _root.ExpectNoMsg(Debounce * 5);
    }

    [Fact]
    public void A_second_save_after_a_reload_is_seen_too()
    {
        StartWatcher();
        File.WriteAllText(FilePath + ".tmp", Yaml(18084));
        File.Move(FilePath + ".tmp", FilePath, overwrite: true);
        ExpectOneReload(18084);

        File.WriteAllText(FilePath + ".tmp", Yaml(18085));
        File.Move(FilePath + ".tmp", FilePath, overwrite: true);

        ExpectOneReload(18085);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Directory.Delete(_directory, recursive: true);
    }
}
