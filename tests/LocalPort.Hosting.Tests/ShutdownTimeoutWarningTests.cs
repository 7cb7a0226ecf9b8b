using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using LocalPort.Actors.Hosting;
using LocalPort.Core;
using LocalPort.Core.Config;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LocalPort.Hosting.Tests;

/// <summary>WithLocalPort checks the host's HostOptions.ShutdownTimeout against its phase timeouts as the host starts.</summary>
public sealed class ShutdownTimeoutWarningTests
{
    [Fact]
    public async Task A_host_that_would_stop_before_the_phases_can_finish_is_warned()
    {
        // .NET's default: exactly the four phase timeouts (2 + 8 + 15 + 5 s), no room for the rest.
        var warnings = await WarningsAtStart(TimeSpan.FromSeconds(30));
        Assert.Contains(warnings, w => w.Contains("host's shutdown timeout (30 s)") && w.Contains("HostOptions.ShutdownTimeout to at least 35 s"));
    }

    [Fact]
    public async Task A_host_that_waits_long_enough_is_not_warned()
    {
        var warnings = await WarningsAtStart(LocalPortHostingExtensions.HostShutdownTimeout(ShutdownTimeouts.Default));
        Assert.DoesNotContain(warnings, w => w.Contains("shutdown timeout"));
    }

    /// <summary>
    /// The warnings logged while a host with this shutdown timeout starts. A marker published after start-up arrives
    /// after anything logged during it, so waiting for the marker means every start-up warning is in.
    /// </summary>
    private static async Task<IReadOnlyList<string>> WarningsAtStart(TimeSpan hostShutdownTimeout)
    {
        using var upstream = new TestUpstream();
        var home = Directory.CreateTempSubdirectory("lp-timeout-").FullName;
        var warnings = new ConcurrentQueue<string>();
        var markerSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = hostShutdownTimeout);
            builder.Services.AddAkka("timeout-test", akka => akka
                .WithActors((system, _) =>
                {
                    // Before WithLocalPort's own start-up, so its warning cannot be missed.
                    var listener = system.ActorOf(Props.Create(() => new WarningListener(warnings, markerSeen)));
                    system.EventStream.Subscribe(listener, typeof(Warning));
                })
                .WithLocalPort(new LocalPortOptions(upstream.Config()) { Paths = new LocalPortPaths(home, Path.Combine(home, "run")) }));
            using var host = builder.Build();
            await host.StartAsync();
            host.Services.GetRequiredService<ActorSystem>().EventStream.Publish(new Warning("test", typeof(ShutdownTimeoutWarningTests), WarningListener.Marker));
            await markerSeen.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await host.StopAsync();
            return warnings.ToList();
        }
        finally
        {
            try { Directory.Delete(home, recursive: true); } catch (IOException) { }
        }
    }

    private sealed class WarningListener : ReceiveActor
    {
        public const string Marker = "start-up is over";

        public WarningListener(ConcurrentQueue<string> warnings, TaskCompletionSource markerSeen) =>
            Receive<Warning>(warning =>
            {
                if (Equals(warning.Message, Marker)) markerSeen.TrySetResult();
                else warnings.Enqueue(warning.ToString() ?? "");
            });
    }
}
