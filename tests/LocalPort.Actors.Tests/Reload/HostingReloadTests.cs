using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Hosting;
using LocalPort.Actors.Hosting;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Actors.Shutdown;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;
using LocalPort.Core.Health;
using LocalPort.Core.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LocalPort.Actors.Tests.Reload;

/// <summary>WithLocalPort with a ConfigPath: the watcher is part of the tree, the registry and the shutdown.</summary>
public sealed class HostingReloadTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lp-hosting-").FullName;

    public HostingReloadTests() : base("akka.loglevel = WARNING") { }

    private string FilePath => Path.Combine(_directory, "localport.yaml");

    private readonly Dictionary<string, int> _ports = [];

    private string Yaml(params string[] names) => "services:\n" + string.Concat(names.Select(name => $$"""
          - { name: {{name}}, technology: tcp, local_port: {{Port(name)}}, remote_port: 80, connection: { host: 127.0.0.1 } }

        """));

    private int Port(string service) => _ports.TryGetValue(service, out var port) ? port : _ports[service] = FreePort.Next();

    [Fact]
    public async Task The_watcher_answers_daemon_reload_and_is_stopped_by_stop_new_work()
    {
        File.WriteAllText(FilePath, Yaml("web"));
        var report = new TaskCompletionSource<ShutdownReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = new ScriptedProbe();
        probe.AlwaysAnswer(ProbeResult.Ok);
        var runtime = new LocalPortRuntime(new FakeTunnelFactory(), _ => probe, () => 0.5) { OnShutdownCompleted = r => report.TrySetResult(r) };
        var config = ConfigLoader.Load(FilePath).Config!;
        using var host = new HostBuilder().ConfigureServices(services => services.AddAkka("hosting-reload", (akka, _) =>
            akka.WithLocalPort(new LocalPortOptions(config) { ConfigPath = FilePath, Runtime = runtime }))).Build();
        await host.StartAsync();
        var watcher = host.Services.GetRequiredService<ActorRegistry>().Get<ConfigWatcher>();
        Assert.Equal(LocalPortHostingExtensions.ConfigWatcherName, watcher.Path.Name);

        File.WriteAllText(FilePath, Yaml("web", "db"));
        var result = await watcher.Ask<ReloadResult>(ReloadConfig.Instance, TimeSpan.FromSeconds(5));

        Assert.True(result.Ok, result.Error);
        Assert.Equal(["db"], result.Added);
        Assert.Empty(result.Restarted);
        await host.StopAsync();
        var stopNewWork = (await report.Task.WaitAsync(TimeSpan.FromSeconds(30))).Phases.Single(p => p.Phase == ShutdownPhases.StopNewWork);
        Assert.Contains("config watcher stopped", stopNewWork.Cleaned);
    }

    [Fact]
    public void Sighup_goes_to_the_config_watcher_when_there_is_one()
    {
        var root = CreateTestProbe();
        var watcher = CreateTestProbe();
        var coordinator = Sys.ActorOf(ShutdownCoordinator.Props(root.Ref, new ResourceLedger(), _ => TimeSpan.FromSeconds(5),
            configWatcher: watcher.Ref, startShutdown: () => { }, exit: _ => { }));
        using var signals = new SignalBridge(coordinator);

        signals.Deliver(PosixSignal.SIGHUP);

        watcher.ExpectMsg<ReloadConfig>(TimeSpan.FromSeconds(3));
        root.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Directory.Delete(_directory, recursive: true);
    }
}
