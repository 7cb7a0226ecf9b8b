using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LocalPort.Core.Tests.Health;

/// <summary>
/// A protocol-level stand-in for a Kafka broker: a real broker cannot run on this machine
/// (no JVM Kafka package is available), so this answers ApiVersions frames over real loopback TCP.
/// </summary>
internal sealed class FakeKafkaBroker : IAsyncDisposable
{
    public sealed record ApiVersionsRequest(short ApiKey, short ApiVersion, int CorrelationId, string? ClientId);

    /// <summary>Builds the reply frame (without the size prefix) for a request, or raw bytes to send as-is.</summary>
    public delegate byte[] Responder(ApiVersionsRequest request);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Responder _respond;
    private readonly bool _framed;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    private FakeKafkaBroker(Responder respond, bool framed)
    {
        _respond = respond;
        _framed = framed;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    public ConcurrentQueue<ApiVersionsRequest> Requests { get; } = new();

    /// <summary>Answers like a broker: v0 ApiVersions response with the given error code.</summary>
    public static FakeKafkaBroker Answering(short errorCode = 0, Func<int, int>? correlation = null) =>
        new(request => ApiVersionsResponse(correlation?.Invoke(request.CorrelationId) ?? request.CorrelationId, errorCode), framed: true);

    /// <summary>Answers every request with the given bytes, unframed.</summary>
    public static FakeKafkaBroker AnsweringRaw(byte[] reply) => new(_ => reply, framed: false);

    private static byte[] ApiVersionsResponse(int correlationId, short errorCode)
    {
        (short Key, short Min, short Max)[] apis = [(0, 0, 11), (3, 0, 12), (18, 0, 4)];
        var frame = new byte[4 + 2 + 4 + 6 * apis.Length];
        var span = frame.AsSpan();
        BinaryPrimitives.WriteInt32BigEndian(span, correlationId);
        BinaryPrimitives.WriteInt16BigEndian(span[4..], errorCode);
        BinaryPrimitives.WriteInt32BigEndian(span[6..], apis.Length);
        for (var i = 0; i < apis.Length; i++)
        {
            BinaryPrimitives.WriteInt16BigEndian(span[(10 + 6 * i)..], apis[i].Key);
            BinaryPrimitives.WriteInt16BigEndian(span[(12 + 6 * i)..], apis[i].Min);
            BinaryPrimitives.WriteInt16BigEndian(span[(14 + 6 * i)..], apis[i].Max);
        }
        return frame;
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = ServeAsync(client);
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var size = new byte[4];
            await stream.ReadExactlyAsync(size, _stop.Token);
            var body = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
            await stream.ReadExactlyAsync(body, _stop.Token);

            var clientIdLength = BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(8));
            var request = new ApiVersionsRequest(
                BinaryPrimitives.ReadInt16BigEndian(body),
                BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(2)),
                BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(4)),
                clientIdLength < 0 ? null : Encoding.UTF8.GetString(body, 10, clientIdLength));
            Requests.Enqueue(request);

            var reply = _respond(request);
            if (_framed)
            {
                var prefix = new byte[4];
                BinaryPrimitives.WriteInt32BigEndian(prefix, reply.Length);
                await stream.WriteAsync(prefix, _stop.Token);
            }
            await stream.WriteAsync(reply, _stop.Token);
            // Like a broker, keep the connection until the client leaves.
            while (await stream.ReadAsync(new byte[1], _stop.Token) > 0) { }
        }
        catch (Exception)
        {
            // Client gone or broker stopping.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _acceptLoop;
        _stop.Dispose();
    }
}
