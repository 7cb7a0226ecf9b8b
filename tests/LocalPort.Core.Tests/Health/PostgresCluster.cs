using System.Diagnostics;
using System.Text;
using Npgsql;

namespace LocalPort.Core.Tests.Health;

/// <summary>
/// A real, throwaway PostgreSQL cluster in a temp directory on a free loopback port.
/// initdb and postgres refuse to run as root, so as root they run as the postgres user.
/// </summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    public const string PasswordUser = "lp_probe";
    public const string Password = "probe-pw-7f3a91";

    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CommandLimit = TimeSpan.FromSeconds(60);

    private readonly bool _asRoot = Environment.IsPrivilegedProcess;
    private readonly StringBuilder _log = new();
    private string _bin = "";
    private DirectoryInfo? _root;
    private Process? _server;

    public int Port { get; private set; }

    private string DataDirectory => Path.Combine(_root!.FullName, "data");

    public async Task InitializeAsync()
    {
        _bin = FindBinDirectory();
        _root = Directory.CreateTempSubdirectory("lp-pg-");
        Directory.CreateDirectory(Path.Combine(_root.FullName, "sockets"));
        if (_asRoot) await RunAsync("chown", "-R", "postgres:postgres", _root.FullName);

        await RunAsync(AsPostgres(Path.Combine(_bin, "initdb"),
            "-D", DataDirectory, "-A", "trust", "-U", "postgres", "--no-sync", "--encoding=UTF8", "--locale=C"));
        // First match wins in pg_hba.conf: the password user must really authenticate over TCP.
        var hba = Path.Combine(DataDirectory, "pg_hba.conf");
        await File.WriteAllTextAsync(hba,
            $"host all {PasswordUser} 127.0.0.1/32 scram-sha-256\n" + await File.ReadAllTextAsync(hba));

        // A port picked now may be taken by the time postgres binds it; try a few.
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort.Next();
            if (await TryStartServerAsync()) break;
            if (attempt == 3) throw new InvalidOperationException("postgres did not start:\n" + Log);
        }

        await using var connection = new NpgsqlConnection(SuperuserConnectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand(
            $"SET password_encryption = 'scram-sha-256'; CREATE ROLE {PasswordUser} LOGIN PASSWORD '{Password}'", connection);
        await create.ExecuteNonQueryAsync();
    }

    private string SuperuserConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Database = "postgres",
        Pooling = false,
        Timeout = 2,
    }.ConnectionString;

    private async Task<bool> TryStartServerAsync()
    {
        var info = AsPostgres(Path.Combine(_bin, "postgres"),
            "-D", DataDirectory,
            "-p", Port.ToString(),
            "-k", Path.Combine(_root!.FullName, "sockets"),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off",
            "-c", "shared_buffers=16MB");
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        _server = Process.Start(info) ?? throw new InvalidOperationException("postgres did not start");
        _server.OutputDataReceived += (_, e) => AppendLog(e.Data);
        _server.ErrorDataReceived += (_, e) => AppendLog(e.Data);
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartupLimit)
        {
            if (_server.HasExited)
            {
                _server.Dispose();
                _server = null;
                return false;
            }
            try
            {
                await using var connection = new NpgsqlConnection(SuperuserConnectionString);
                await connection.OpenAsync();
                return true;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                // Still starting (refused, or "the database system is starting up"): look again shortly.
                await Task.Delay(50);
            }
        }
        throw new TimeoutException($"postgres not accepting connections after {StartupLimit}:\n{Log}");
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            try
            {
                await RunAsync(AsPostgres(Path.Combine(_bin, "pg_ctl"), "stop", "-D", DataDirectory, "-m", "immediate", "-w", "-t", "10"));
            }
            catch (Exception)
            {
                // Fall through to the kill below.
            }
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _server.WaitForExitAsync(exited.Token);
            }
            catch (OperationCanceledException)
            {
                _server.Kill(entireProcessTree: true);
            }
            _server.Dispose();
        }
        _root?.Delete(recursive: true);
    }

    private string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    private void AppendLog(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }

    private static string FindBinDirectory()
    {
        // Debian-style layout first (highest version), then whatever is on PATH.
        var versioned = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        if (versioned is not null) return versioned;
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "postgres")));
        return onPath ?? throw new InvalidOperationException("PostgreSQL binaries (initdb, postgres) not found");
    }

    private ProcessStartInfo AsPostgres(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(_asRoot ? "runuser" : program)
        {
            UseShellExecute = false,
            // postgres must be able to read its working directory.
            WorkingDirectory = _root!.FullName,
        };
        if (_asRoot)
        {
            foreach (var a in new[] { "-u", "postgres", "--", program }) info.ArgumentList.Add(a);
        }
        foreach (var a in arguments) info.ArgumentList.Add(a);
        return info;
    }

    private Task RunAsync(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        return RunAsync(info);
    }

    private static async Task RunAsync(ProcessStartInfo info)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{info.FileName} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(CommandLimit);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{info.FileName} {string.Join(' ', info.ArgumentList)} took longer than {CommandLimit}");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"{info.FileName} {string.Join(' ', info.ArgumentList)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresCluster>
{
    public const string Name = "postgres cluster";
}
