using System.Diagnostics;
using System.Net.Http;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>The embedding sample (samples/LocalPort.Sample) as a user runs it: starts, forwards, serves the control API, stops with the host.</summary>
public sealed class SampleHostTests(ITestOutputHelper output) : Scenario(output)
{
    private static string SampleDll()
    {
        // artifacts/bin/<project>/<configuration>/: the sample sits beside this test assembly's folder.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Name;
        var dll = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "LocalPort.Sample", configuration, "LocalPort.Sample.dll"));
        Assert.True(File.Exists(dll), $"the sample is not built at {dll}");
        return dll;
    }

    [Fact]
    public void The_sample_host_forwards_serves_the_control_api_and_stops_cleanly_with_the_host()
    {
        var ports = FreePort.Next(2);
        var (relayPort, appPort) = (ports[0], ports[1]);
        var config = WriteConfig($"""
            services:
              - name: sample-self
                technology: tcp
                local_port: {relayPort}
                remote_port: {appPort}
                connection:
                  host: 127.0.0.1
            """);
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["LOCALPORT_HOME"] = Path.Combine(Home, "state"), ["HOME"] = Home },
        };
        foreach (var arg in new[] { SampleDll(), $"--LocalPort:Config={config}", $"--urls=http://127.0.0.1:{appPort}" }) info.ArgumentList.Add(arg);
        using var sample = Process.Start(info)!;
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        sample.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        sample.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        sample.BeginOutputReadLine();
        sample.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            string? status = null;
            Poll.Assert(() =>
            {
                try { status = http.GetStringAsync($"http://127.0.0.1:{relayPort}/localport/v1/status").GetAwaiter().GetResult(); }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
                return status.Contains("\"running\"");
            }, TimeSpan.FromSeconds(30), "the sample's status through LocalPort's relay");
            Output.WriteLine(status);
            // The daemon's control API, in its shapes: the same StatusView and state strings, under the sample's /localport.
            var view = System.Text.Json.JsonSerializer.Deserialize<LocalPort.Control.StatusView>(status!, LocalPort.Control.ApiJson.Options)!;
            Assert.Equal(("embedded", config, sample.Id), (view.Mode, view.Config, view.Pid));
            Assert.Equal("running", Assert.Single(view.Services, s => s.Name == "sample-self").State);
            using (var restart = http.PostAsync($"http://127.0.0.1:{appPort}/localport/v1/services/sample-self/restart", null).GetAwaiter().GetResult())
            {
                Assert.Equal(System.Net.HttpStatusCode.OK, restart.StatusCode);
                Assert.Equal("""{"service":"sample-self","result":"restart"}""", restart.Content.ReadAsStringAsync().GetAwaiter().GetResult());
            }

            Assert.True(Native.Signal(sample.Id, Native.SIGTERM));
            Assert.True(sample.WaitForExit(TimeSpan.FromSeconds(15)), "the sample did not stop");
            sample.WaitForExit(); // it has exited: this waits for the redirected output to be read to its end
            foreach (var line in log) Output.WriteLine(line);
            Assert.Equal(0, sample.ExitCode);
            Assert.Contains(log, l => l.Contains("shutdown phase localport-force-cleanup finished"));
            // The sample gives the phases their time: WithLocalPort found nothing to warn about.
            Assert.DoesNotContain(log, l => l.Contains("shorter than LocalPort's shutdown phases"));
            Assert.True(Traffic.Refuses(relayPort), "the relay port is still open after the host stopped");
        }
        finally
        {
            if (!sample.HasExited) sample.Kill(entireProcessTree: true);
        }
    }
}
