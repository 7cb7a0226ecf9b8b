using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Config;

namespace LocalPort.Hosting.Tests;

/// <summary>An echo server on a free loopback port, and a config with one tcp relay in front of it.</summary>
public sealed class TestUpstream : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();

    public int Port { get; }
    public int LocalPort { get; } = FreePort.Next();

    public TestUpstream()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        var buffer = new byte[4096];
                        var stream = client.GetStream();
                        try
                        {
                            int read;
                            while ((read = await stream.ReadAsync(buffer, _stop.Token)) > 0) await stream.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                        }
                        catch (Exception e) when (e is IOException or OperationCanceledException) { }
                    }
                });
            }
        });
    }

    public LocalPortConfig Config(string name = "echo")
    {
        var result = ConfigLoader.LoadText($$"""
            services:
              - name: {{name}}
                technology: tcp
                local_port: {{LocalPort}}
                remote_port: {{Port}}
                connection: { host: 127.0.0.1 }
                health_check: { type: tcp, interval: 500ms }
            """, "hosting-test.yaml");
        Assert.True(result.Ok, string.Join("\n", result.Diagnostics));
        return result.Config!;
    }

    /// <summary>One echo through the relay. Until the forward has bound its port (it does so as it starts) connects are refused: retried for up to 10 s.</summary>
    public async Task<bool> EchoThroughRelayAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        TcpClient client;
        while (true)
        {
            client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, LocalPort);
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused && DateTime.UtcNow < deadline)
            {
                client.Dispose();
                await Task.Delay(20);
            }
        }
        using var connected = client;
        var stream = client.GetStream();
        await stream.WriteAsync("ping"u8.ToArray());
        var buffer = new byte[4];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await stream.ReadExactlyAsync(buffer, timeout.Token);
        return buffer.SequenceEqual("ping"u8.ToArray());
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }
}
