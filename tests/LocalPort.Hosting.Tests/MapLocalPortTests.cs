using System.Net;
using System.Text.Json;
using Akka.Hosting;
using LocalPort.Actors.Hosting;
using LocalPort.Control;
using LocalPort.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LocalPort.Hosting.Tests;

/// <summary>The control API embedded in an ASP.NET Core host (Kestrel on loopback) that runs WithLocalPort.</summary>
public sealed class MapLocalPortTests : IAsyncLifetime
{
    private readonly TestUpstream _upstream = new();
    private readonly string _home = Directory.CreateTempSubdirectory("lp-control-").FullName;
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAkka("control-test", akka =>
            akka.WithLocalPort(new LocalPortOptions(_upstream.Config()) { Paths = new LocalPortPaths(_home, Path.Combine(_home, "run")) }));
        _app = builder.Build();
        _app.MapLocalPort("/localport");
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.Single()), Timeout = TimeSpan.FromSeconds(5) };
    }

    [Fact]
    public async Task An_embedded_host_answers_status_in_the_daemons_shape()
    {
        StatusView? status = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (status?.Services.SingleOrDefault()?.State != "running" && DateTime.UtcNow < deadline)
        {
            if (status is not null) await Task.Delay(50);
            status = JsonSerializer.Deserialize<StatusView>(await _http.GetStringAsync("/localport/v1/status"), ApiJson.Options);
        }

        Assert.NotNull(status);
        Assert.Equal(Environment.ProcessId, status.Pid);
        Assert.Equal("embedded", status.Mode);
        Assert.Null(status.Config);
        var service = Assert.Single(status.Services);
        Assert.Equal(("echo", "tcp", "running", _upstream.LocalPort), (service.Name, service.Technology, service.State, service.LocalPort));
        Assert.True(await _upstream.EchoThroughRelayAsync());
    }

    [Fact]
    public async Task Unknown_paths_under_v1_are_json_404s_and_the_rest_of_the_host_stays_the_hosts()
    {
        using var unknown = await _http.GetAsync("/localport/v1/no-such-thing");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no such endpoint", await unknown.Content.ReadAsStringAsync());

        using var elsewhere = await _http.GetAsync("/somewhere-else");
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        Assert.Equal("", await elsewhere.Content.ReadAsStringAsync());
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
        try { Directory.Delete(_home, recursive: true); } catch (IOException) { }
    }
}
