using LocalPort.Core.Config;
using Npgsql;

namespace LocalPort.Core.Health;

/// <summary>Opens a real PostgreSQL session through the local port and runs <c>SELECT 1</c>.</summary>
public sealed class PostgresProbe : IHealthProbe
{
    private readonly TimeSpan _timeout;
    private readonly string? _connectionString;
    private readonly string? _password;
    private readonly string? _configError;

    public PostgresProbe(int port, TimeSpan timeout, HealthCheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _timeout = timeout;
        _password = settings.Password?.Reveal();
        if (!TryParseSslMode(settings.SslMode, out var sslMode))
        {
            // Reported by every check instead of crashing the supervisor.
            _configError = $"invalid sslmode '{settings.SslMode}'";
            return;
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Database = string.IsNullOrEmpty(settings.Database) ? "postgres" : settings.Database,
            Username = string.IsNullOrEmpty(settings.User) ? "postgres" : settings.User,
            SslMode = sslMode,
            // Every check must open a new session through the tunnel, not reuse a pooled one.
            Pooling = false,
            // Kerberos cannot match 127.0.0.1 through a forward, and probing for it costs a round trip.
            GssEncryptionMode = GssEncryptionMode.Disable,
            // The caller's token is the real deadline; these only back it up.
            Timeout = BackstopSeconds(timeout),
            CommandTimeout = BackstopSeconds(timeout),
            // On cancellation drop the socket at once instead of waiting for a server-side cancel.
            CancellationTimeout = -1,
            ApplicationName = "localport-health",
        };
        if (_password is not null) builder.Password = _password;
        _connectionString = builder.ConnectionString;
    }

    public async Task<ProbeResult> CheckAsync(CancellationToken cancellationToken)
    {
        if (_configError is not null) return ProbeResult.Fail(_configError);
        var work = SelectOneAsync(cancellationToken);
        try
        {
            // Npgsql ignores the token while waiting for the startup reply (only its own
            // Timeout ends that wait), so the deadline is enforced here as well.
            var result = await work.WaitAsync(cancellationToken).ConfigureAwait(false);
            return result is 1 ? ProbeResult.Ok : ProbeResult.Fail("SELECT 1 returned an unexpected value");
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // The abandoned attempt ends by the backstop timeout and disposes its own connection.
            _ = work.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return ProbeResult.Fail(ProbeErrors.TimedOut(_timeout));
        }
        catch (PostgresException e)
        {
            // The server answered but refused (auth, missing database, ...): the user asked for a real SELECT 1.
            return ProbeResult.Fail(Scrub($"{e.SqlState}: {ProbeErrors.FirstLine(e.MessageText)}"));
        }
        catch (Exception e)
        {
            return ProbeResult.Fail(Scrub(ProbeErrors.Describe(e)));
        }
    }

    private async Task<object?> SelectOneAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static bool TryParseSslMode(string? value, out SslMode mode)
    {
        mode = SslMode.Prefer;
        if (string.IsNullOrWhiteSpace(value)) return true;
        // Accept libpq spelling ("verify-full") as well as Npgsql's ("VerifyFull").
        var normalized = value.Trim().Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
        return Enum.TryParse(normalized, ignoreCase: true, out mode) && Enum.IsDefined(mode);
    }

    private static int BackstopSeconds(TimeSpan timeout) => (int)Math.Ceiling(Math.Max(timeout.TotalSeconds, 1)) + 1;

    // Belt and braces: no driver message may ever carry the password to a log line.
    private string Scrub(string message) =>
        string.IsNullOrEmpty(_password) ? message : message.Replace(_password, "********", StringComparison.Ordinal);
}
