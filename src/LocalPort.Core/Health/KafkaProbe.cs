using System.Buffers.Binary;
using System.Text;

namespace LocalPort.Core.Health;

/// <summary>
/// Sends a Kafka ApiVersions v0 request and accepts a well-formed response with our
/// correlation id. No metadata: the advertised listeners are unreachable through a forward.
/// </summary>
public sealed class KafkaProbe : IHealthProbe
{
    private const short ApiVersionsKey = 18;
    private const short ErrorNone = 0;
    private const short ErrorUnsupportedVersion = 35;
    private const string ClientId = "localport";
    // Real ApiVersions responses are a few hundred bytes; anything huge is not Kafka.
    private const int MaxResponseBytes = 1 << 20;

    private readonly int _port;
    private readonly TimeSpan _timeout;

    public KafkaProbe(int port, TimeSpan timeout)
    {
        _port = port;
        _timeout = timeout;
    }

    public async Task<ProbeResult> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var socket = await Loopback.ConnectAsync(_port, cancellationToken).ConfigureAwait(false);
            var correlationId = Random.Shared.Next(1, int.MaxValue);
            await Loopback.SendAllAsync(socket, BuildRequest(correlationId), cancellationToken).ConfigureAwait(false);

            var sizeBytes = new byte[4];
            await Loopback.ReadExactlyAsync(socket, sizeBytes, cancellationToken).ConfigureAwait(false);
            var size = BinaryPrimitives.ReadInt32BigEndian(sizeBytes);
            // correlation id (4) + error code (2) is the smallest possible v0 response.
            if (size < 6 || size > MaxResponseBytes)
                return ProbeResult.Fail($"not a Kafka response (frame size {size})");

            var frame = new byte[size];
            await Loopback.ReadExactlyAsync(socket, frame, cancellationToken).ConfigureAwait(false);
            return Validate(frame, correlationId);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            return ProbeResult.Fail(ProbeErrors.TimedOut(_timeout));
        }
        catch (Exception e)
        {
            return ProbeResult.Fail(ProbeErrors.Describe(e));
        }
    }

    internal static byte[] BuildRequest(int correlationId)
    {
        var client = Encoding.UTF8.GetBytes(ClientId);
        // Header v1: api_key, api_version, correlation_id, client_id (int16-length string); v0 body is empty.
        var payloadLength = 2 + 2 + 4 + 2 + client.Length;
        var request = new byte[4 + payloadLength];
        var span = request.AsSpan();
        BinaryPrimitives.WriteInt32BigEndian(span, payloadLength);
        BinaryPrimitives.WriteInt16BigEndian(span[4..], ApiVersionsKey);
        BinaryPrimitives.WriteInt16BigEndian(span[6..], 0);
        BinaryPrimitives.WriteInt32BigEndian(span[8..], correlationId);
        BinaryPrimitives.WriteInt16BigEndian(span[12..], (short)client.Length);
        client.CopyTo(span[14..]);
        return request;
    }

    private static ProbeResult Validate(ReadOnlySpan<byte> frame, int correlationId)
    {
        var answered = BinaryPrimitives.ReadInt32BigEndian(frame);
        if (answered != correlationId)
            return ProbeResult.Fail("not a Kafka response (correlation id mismatch)");

        var error = BinaryPrimitives.ReadInt16BigEndian(frame[4..]);
        if (error != ErrorNone && error != ErrorUnsupportedVersion)
            return ProbeResult.Fail($"Kafka ApiVersions error code {error}");

        // The api_keys array must fit the frame exactly, or the bytes only looked like Kafka by chance.
        if (frame.Length < 10)
            return error == ErrorUnsupportedVersion && frame.Length == 6
                ? ProbeResult.Ok
                : ProbeResult.Fail("not a Kafka response (truncated api versions)");
        var count = BinaryPrimitives.ReadInt32BigEndian(frame[6..]);
        var expectedLength = 10L + 6L * count;
        if (count < 0 || frame.Length < expectedLength)
            return ProbeResult.Fail("not a Kafka response (malformed api versions)");
        return ProbeResult.Ok;
    }
}
