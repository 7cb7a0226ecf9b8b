// A minimal ASP.NET Core host that embeds LocalPort with one Akka.Hosting call and shows its state.
// LocalPort's shutdown phases run inside this host's CoordinatedShutdown when the host stops;
// the host keeps its own Ctrl-C/SIGTERM handling (LocalPort does not take signals unless asked).
using Akka.Actor;
using Akka.Hosting;
using LocalPort.Actors.Hosting;
using LocalPort.Actors.Services;
using LocalPort.Actors.Supervision;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var configPath = builder.Configuration["LocalPort:Config"] ?? Path.Combine(AppContext.BaseDirectory, "localport.yaml");

builder.Services.AddAkka("sample", (akka, _) => akka
    .ConfigureLoggers(loggers =>
    {
        // Akka's (and so LocalPort's) log events go through the host's ILoggerFactory.
        loggers.ClearLoggers();
        loggers.AddLoggerFactory();
    })
    .WithLocalPort(configPath));

var app = builder.Build();

app.MapGet("/", () => "LocalPort sample: GET /localport/status for the forwards' state\n");

app.MapGet("/localport/status", async (IRequiredActor<LocalPortSupervisor> localPort) =>
{
    var root = await localPort.GetAsync();
    var snapshot = await root.Ask<StatusSnapshot>(GetStatus.Instance, TimeSpan.FromSeconds(5));
    return snapshot.Services.Select(s => new
    {
        name = s.Name,
        state = s.State.ToString().ToLowerInvariant(),
        healthy = s.Healthy,
        local_port = s.LocalPort,
        restarts = s.Restarts,
        last_error = s.LastError,
    });
});

app.Run();
