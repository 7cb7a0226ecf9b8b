using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LocalPort.Core.Tests.Health;

/// <summary>A real redis-server child process on a free loopback port; killed on dispose.</summary>
internal sealed class RedisServer : IDisposable
{
    private const string Binary = "/usr/bin/redis-server";
    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(15);

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public static async Task<RedisServer> StartAsync(params string[] extraArguments)
    {
        var port = FreePort.Next();
        var info = new ProcessStartInfo(Binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no" })
            info.ArgumentList.Add(argument);
        foreach (var argument in extraArguments) info.ArgumentList.Add(argument);

        var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start");
        var server = new RedisServer(process, port);
        process.OutputDataReceived += (_, e) => server.Log(e.Data);
        process.ErrorDataReceived += (_, e) => server.Log(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitUntilListeningAsync();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private void Log(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private async Task WaitUntilListeningAsync()
    {
        using var limit = new CancellationTokenSource(StartupLimit);
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), limit.Token);
                return;
            }
            catch (SocketException)
            {
                // Not listening yet: back off a little and look again.
                await Task.Delay(20, limit.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"redis-server not listening after {StartupLimit}:\n{Output}");
            }
        }
    }

    private string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Kills the server and waits until the port is really closed.</summary>
    public void Stop()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(TimeSpan.FromSeconds(10));
    }

    public void Dispose()
    {
        try
        {
            Stop();
        }
        finally
        {
            _process.Dispose();
        }
    }
}
