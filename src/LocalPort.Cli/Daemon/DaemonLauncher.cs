using System.Diagnostics;
using LocalPort.Cli.Control;
using LocalPort.Control;
using LocalPort.Core;
using LocalPort.Core.Processes;

namespace LocalPort.Cli.Daemon;

/// <summary>Starts a detached daemon and waits until it serves its control API.</summary>
public static class DaemonLauncher
{
    public const string DetachedFlag = "--detached";

    public static ControlClient Client(LocalPortPaths paths, TimeSpan? timeout = null) => new(paths.ControlSocket, timeout);

    /// <summary>Spawns `localport daemon start --foreground --detached -c CONFIG [--trust-config]`; returns null on success, else why not.</summary>
    /// <param name="logLevel">The daemon log's level, when the user asked for one (--debug, --log-level).</param>
    /// <param name="autoStart">False: the daemon knows the services but starts none (`--no-auto-start`).</param>
    public static async Task<string?> StartDetachedAsync(LocalPortPaths paths, string configPath, TimeSpan timeout, bool jsonLogs,
        bool trustConfig, Serilog.Events.LogEventLevel? logLevel = null, bool autoStart = true, System.Net.IPEndPoint? metrics = null)
    {
        var (fileName, prefix) = Self();
        // By absolute path, from /: the caller's working directory is never searched, nor kept busy.
        var info = new ProcessStartInfo(OwnSession.Resolve(fileName))
        {
            UseShellExecute = false,
            WorkingDirectory = "/",
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in prefix) info.ArgumentList.Add(arg);
        foreach (var arg in new[] { "daemon", "start", "--foreground", DetachedFlag, "--config", Path.GetFullPath(configPath) }) info.ArgumentList.Add(arg);
        if (jsonLogs) info.ArgumentList.Add("--log-json");
        // The daemon reads the file again, and re-reads it on every reload.
        if (trustConfig) info.ArgumentList.Add("--trust-config");
        if (logLevel is { } level) foreach (var arg in new[] { "--log-level", Common.LogLevels.Name(level) }) info.ArgumentList.Add(arg);
        if (!autoStart) info.ArgumentList.Add("--no-auto-start");
        if (metrics is not null) foreach (var arg in new[] { "--metrics", metrics.ToString() }) info.ArgumentList.Add(arg);

        using var daemon = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stderr = daemon.StandardError.ReadToEndAsync();
        using var client = Client(paths, TimeSpan.FromSeconds(2));
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (await client.IsAliveAsync()) return null;
            if (daemon.HasExited)
            {
                var output = await stderr;
                return $"the daemon exited with code {daemon.ExitCode} before serving its control API" +
                       (string.IsNullOrWhiteSpace(output) ? $"; see {paths.DaemonLog}" : $":{Environment.NewLine}{output.Trim()}");
            }
            await Task.Delay(50);
        }
        return $"the daemon (pid {daemon.Id}) did not serve {paths.ControlSocket} within {timeout.TotalSeconds:0}s; see {paths.DaemonLog}";
    }

    /// <summary>How to run this same tool again: the apphost, or `dotnet localport.dll` (both absolute).</summary>
    public static (string FileName, string[] Prefix) Self()
    {
        var processPath = Environment.ProcessPath ?? "localport";
        var name = Path.GetFileNameWithoutExtension(processPath);
        return name.Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            ? (processPath, [typeof(DaemonLauncher).Assembly.Location])
            : (processPath, []);
    }
}
