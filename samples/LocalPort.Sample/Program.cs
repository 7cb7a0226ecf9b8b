// A minimal ASP.NET Core host that embeds LocalPort with one Akka.Hosting call and serves its control API.
// LocalPort's shutdown phases run inside this host's CoordinatedShutdown when the host stops;
// the host keeps its own Ctrl-C/SIGTERM handling (LocalPort does not take signals unless asked).
using Akka.Hosting;
using LocalPort.Actors.Hosting;
using LocalPort.Control;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var configPath = builder.Configuration["LocalPort:Config"] ?? Path.Combine(AppContext.BaseDirectory, "localport.yaml");

// Akka.Hosting runs LocalPort's shutdown phases inside the host's StopAsync: give them their time (2 + 8 + 15 + 5 s by
// default, and a margin). WithLocalPort logs a warning when the host's timeout is shorter than they may take.
builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(40));

builder.Services.AddAkka("sample", (akka, _) => akka
    .ConfigureLoggers(loggers =>
    {
        // Akka's (and so LocalPort's) log events go through the host's ILoggerFactory.
        loggers.ClearLoggers();
        loggers.AddLoggerFactory();
    })
    .WithLocalPort(configPath));

var app = builder.Build();

app.MapGet("/", () => "LocalPort sample: GET /localport/v1/status for the forwards' state\n");

// The daemon's control API (status, events, start/stop/restart, reload, chaos …) under /localport. It has no
// authorization of its own: this sample listens on loopback only; a real host adds .RequireAuthorization(…).
app.MapLocalPort("/localport");

app.Run();
