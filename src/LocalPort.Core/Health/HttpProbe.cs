using System.Net;
using System.Net.Http;
using System.Text;
using LocalPort.Core.Config;

namespace LocalPort.Core.Health;

/// <summary>Sends one HTTP(S) request and checks the status code and, optionally, the body.</summary>
public sealed class HttpProbe : IHealthProbe, IDisposable
{
    // Bodies are only searched for expected_content; a health endpoint bigger than this is misconfigured.
    private const int MaxBodyBytes = 1 << 20;

    private readonly HttpClient _client;
    private readonly Uri? _url;
    private readonly string? _hostHeader;
    private readonly HttpMethod? _method;
    private readonly string? _configError;
    private readonly IReadOnlyDictionary<string, Secret> _headers;
    private readonly IReadOnlyList<int> _expectedStatusCodes;
    private readonly string? _expectedContent;
    private readonly TimeSpan _timeout;
    private readonly string? _configuredUrl;

    public HttpProbe(int port, TimeSpan timeout, HealthCheckSettings settings, bool https)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _timeout = timeout;
        _configuredUrl = settings.Url;
        try
        {
            (_url, _hostHeader) = ResolveUrl(settings.Url, port, https);
            _method = new HttpMethod(settings.Method.Trim().ToUpperInvariant());
        }
        catch (Exception e) when (e is UriFormatException or FormatException or ArgumentException)
        {
            // A bad url or method is reported by every check instead of crashing the supervisor.
            _configError = "invalid http health check settings: " + ProbeErrors.FirstLine(e.Message);
        }
        _headers = settings.Headers;
        _expectedStatusCodes = settings.ExpectedStatusCodes;
        _expectedContent = string.IsNullOrEmpty(settings.ExpectedContent) ? null : settings.ExpectedContent;

        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            // 3xx counts as healthy by default, and a redirect could lead off the tunnel.
            AllowAutoRedirect = false,
            UseCookies = false,
            // A fresh connection per probe exercises the tunnel the way a new client would.
            PooledConnectionLifetime = TimeSpan.Zero,
        };
        if (!settings.VerifySsl)
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        // The caller's token is the only timeout.
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public Uri? Url => _url;

    public async Task<ProbeResult> CheckAsync(CancellationToken cancellationToken)
    {
        if (_configError is not null) return Fail(_configError);
        try
        {
            using var request = BuildRequest(_method!, _url!);
            using var response = await _client
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
                .ConfigureAwait(false);

            var status = (int)response.StatusCode;
            if (!StatusAccepted(status))
                return Fail($"HTTP {status} (expected {DescribeExpected()})");

            if (_expectedContent is not null)
            {
                var body = await ReadBodyAsync(response, cancellationToken).ConfigureAwait(false);
                if (!body.Contains(_expectedContent, StringComparison.Ordinal))
                    return Fail($"HTTP {status} body does not contain \"{ProbeErrors.FirstLine(_expectedContent, 40)}\"");
            }
            return ProbeResult.Ok;
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            return Fail(ProbeErrors.TimedOut(_timeout));
        }
        catch (Exception e)
        {
            return Fail(ProbeErrors.Describe(e));
        }
    }

    public void Dispose() => _client.Dispose();

    // Errors reach status, last_error and the logs: the url's password never does.
    private ProbeResult Fail(string error) => ProbeResult.Fail(UrlPasswords.Redact(error, _configuredUrl));

    internal static (Uri Url, string? HostHeader) ResolveUrl(string? configured, int port, bool https)
    {
        var scheme = https ? "https" : "http";
        if (string.IsNullOrWhiteSpace(configured))
            return (new Uri($"{scheme}://127.0.0.1:{port}/"), null);

        var url = new Uri(configured.Trim(), UriKind.Absolute);
        if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"url scheme must be http or https, not '{url.Scheme}'");
        if (!string.Equals(url.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            return (url, null);
        // "localhost" may resolve to ::1 first, while the forward listens on 127.0.0.1 only;
        // keep the Host header the server expects.
        var rewritten = new UriBuilder(url) { Host = "127.0.0.1" }.Uri;
        return (rewritten, url.Authority);
    }

    private HttpRequestMessage BuildRequest(HttpMethod method, Uri url)
    {
        var request = new HttpRequestMessage(method, url);
        if (_hostHeader is not null) request.Headers.Host = _hostHeader;
        foreach (var (name, value) in _headers)
        {
            if (request.Headers.TryAddWithoutValidation(name, value.Reveal())) continue;
            // Content-Type and friends belong to the content, even for an empty body.
            request.Content ??= new ByteArrayContent([]);
            request.Content.Headers.TryAddWithoutValidation(name, value.Reveal());
        }
        return request;
    }

    private bool StatusAccepted(int status) =>
        _expectedStatusCodes.Count == 0 ? status is >= 200 and < 400 : _expectedStatusCodes.Contains(status);

    private string DescribeExpected() =>
        _expectedStatusCodes.Count == 0 ? "2xx or 3xx" : string.Join(", ", _expectedStatusCodes);

    private static async Task<string> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var body = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (body.Length < MaxBodyBytes)
        {
            var read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (read == 0) break;
            body.Write(chunk, 0, read);
        }
        var charset = response.Content.Headers.ContentType?.CharSet;
        var encoding = Encoding.UTF8;
        if (!string.IsNullOrEmpty(charset))
        {
            try { encoding = Encoding.GetEncoding(charset.Trim('"')); }
            catch (ArgumentException) { /* unknown charset: UTF-8 is the best guess */ }
        }
        return encoding.GetString(body.GetBuffer(), 0, (int)body.Length);
    }
}
