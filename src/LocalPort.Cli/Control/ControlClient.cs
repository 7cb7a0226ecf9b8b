using System.Net.Http.Json;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using LocalPort.Control;

namespace LocalPort.Cli.Control;

/// <summary>Talks to a running daemon (or foreground run) over its Unix control socket.</summary>
public sealed class ControlClient : IDisposable
{
    private readonly HttpClient _http;

    public string SocketPath { get; }

    public ControlClient(string socketPath, TimeSpan? timeout = null)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://localport/"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };
    }

    /// <summary>True when something answers on the socket.</summary>
    /// <exception cref="ControlRefusedException">A LocalPort answers, but not to this user (403).</exception>
    public async Task<bool> IsAliveAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(SocketPath)) return false;
        try
        {
            using var response = await _http.GetAsync("v1/status", cancellationToken);
            if (response.StatusCode == System.Net.HttpStatusCode.Forbidden)
                throw new ControlRefusedException(SocketPath, await response.Content.ReadAsStringAsync(cancellationToken));
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return false;
        }
    }

    public async Task<StatusView> StatusAsync(IEnumerable<string>? services = null, CancellationToken cancellationToken = default)
    {
        var query = string.Join("&", (services ?? []).Select(s => $"service={Uri.EscapeDataString(s)}"));
        return (await _http.GetFromJsonAsync($"v1/status?{query}", ApiJson.Info<StatusView>(), cancellationToken))!;
    }

    public async Task<(int Status, string Body)> PostAsync(string path, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsync(path, null, cancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    public async Task<(int Status, string Body)> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(path, cancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>Any request with an optional JSON body (chaos uses POST with a body and DELETE).</summary>
    public async Task<(int Status, string Body)> SendAsync(HttpMethod method, string path, string? json = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request, cancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>Server-sent status events, as they happen.</summary>
    public async IAsyncEnumerable<ServiceView> EventsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/events");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var view = ApiJson.Deserialize<ServiceView>(line["data: ".Length..]);
            if (view is not null) yield return view;
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The LocalPort on the socket is running but does not answer this user: saying "not running" would be wrong.</summary>
public sealed class ControlRefusedException(string socketPath, string body)
    : Exception($"the LocalPort on {socketPath} refused this request: {ErrorText(body)}")
{
    private static string ErrorText(string body)
    {
        try
        {
            return ApiJson.Deserialize<ErrorView>(body)?.Error ?? body;
        }
        catch (System.Text.Json.JsonException)
        {
            return body;
        }
    }
}
