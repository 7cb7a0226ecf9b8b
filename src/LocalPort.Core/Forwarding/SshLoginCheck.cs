using System.Diagnostics;
using System.Text.RegularExpressions;
using LocalPort.Core.Config;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Forwarding;

/// <summary>What `localport ssh test` found: whether the login worked, in plain words, and ssh's own last words.</summary>
public sealed record SshLoginResult(bool Ok, string Summary, string? Detail);

/// <summary>
/// Logs in with a service's ssh settings (the tunnel's options, BatchMode, a connect timeout) and runs `true`, then
/// says in plain words whether authentication, the host key or reachability was the problem. ssh runs by absolute
/// path, without a shell; a password goes through the askpass helper, never the command line.
/// </summary>
public static partial class SshLoginCheck
{
    public static IReadOnlyList<string> Arguments(SshConnection connection, TimeSpan connectTimeout)
    {
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["BatchMode"] = connection.Password is null ? "yes" : "no",
            ["ConnectTimeout"] = Math.Max(1, (int)Math.Ceiling(connectTimeout.TotalSeconds)).ToString(),
            ["ConnectionAttempts"] = "1",
            ["StrictHostKeyChecking"] = connection.StrictHostKeyChecking,
        };
        if (connection.Password is not null)
        {
            options["PreferredAuthentications"] = "password,keyboard-interactive";
            options["NumberOfPasswordPrompts"] = "1";
        }
        foreach (var (key, value) in connection.Options) options[key] = value;
        // -v: ssh says "Authenticated to …" even when the account may not run commands (a tunnel-only account).
        var args = new List<string> { "-v", "-T" };
        foreach (var (key, value) in options) args.AddRange(["-o", $"{key}={value}"]);
        args.AddRange(["-p", connection.Port.ToString()]);
        if (!string.IsNullOrEmpty(connection.KeyFile)) args.AddRange(["-i", connection.KeyFile]);
        if (!string.IsNullOrEmpty(connection.JumpHost)) args.AddRange(["-J", connection.JumpHost]);
        args.Add(string.IsNullOrEmpty(connection.User) ? connection.Host : $"{connection.User}@{connection.Host}");
        args.Add("true");
        return args;
    }

    /// <param name="scratchDirectory">A private directory for the askpass helper (only used with a password).</param>
    public static async Task<SshLoginResult> RunAsync(SshConnection connection, TimeSpan connectTimeout, string scratchDirectory,
        CancellationToken cancellationToken = default)
    {
        var where = $"{connection.Host}:{connection.Port}";
        string program;
        try
        {
            program = OwnSession.Resolve(connection.SshPath ?? "ssh");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new SshLoginResult(false, $"ssh itself cannot run: {e.Message}", null);
        }
        var info = new ProcessStartInfo(program)
        {
            UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var arg in Arguments(connection, connectTimeout)) info.ArgumentList.Add(arg);
        if (connection.Password is not null)
            foreach (var (key, value) in SshAskpass.Environment(connection.Password, LocalPortPaths.EnsurePrivateDirectory(scratchDirectory)))
                info.Environment[key] = value;

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        // Connect, then authenticate: each may take the connect timeout; past that it hangs somewhere we cannot help.
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(connectTimeout * 2 + TimeSpan.FromSeconds(5));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            if (cancellationToken.IsCancellationRequested) throw;
            return new SshLoginResult(false, $"unreachable: no answer from {where} within {Durations.Format(connectTimeout * 2 + TimeSpan.FromSeconds(5))}", null);
        }
        await stdout;
        return Interpret(process.ExitCode, await stderr, connection);
    }

    /// <summary>Plain words for ssh's exit code and its stderr (debug lines included).</summary>
    public static SshLoginResult Interpret(int exitCode, string stderr, SshConnection connection)
    {
        var where = $"{connection.Host}:{connection.Port}";
        var who = $"{(string.IsNullOrEmpty(connection.User) ? "" : connection.User + "@")}{connection.Host}";
        // Per line: stripping control characters first would join the lines.
        var lines = stderr.Split('\n').Select(l => ControlCharacters.Strip(l).Trim()).Where(l => l.Length > 0).ToArray();
        var said = lines.Where(l => !l.StartsWith("debug", StringComparison.Ordinal) && !l.StartsWith("OpenSSH_", StringComparison.Ordinal)).ToList();
        var detail = said.Count == 0 ? null : string.Join(" | ", said.TakeLast(3));
        bool Says(string text) => lines.Any(l => l.Contains(text, StringComparison.OrdinalIgnoreCase));

        var authenticated = lines.FirstOrDefault(l => l.Contains("Authenticated to", StringComparison.Ordinal));
        if (exitCode == 0 || authenticated is not null)
        {
            var method = authenticated is null ? null : AuthMethod().Match(authenticated) is { Success: true } m ? m.Groups[1].Value : null;
            return new SshLoginResult(true, $"ok: logged in to {where} as {who}{(method is null ? "" : $" ({method})")}", null);
        }
        if (Says("REMOTE HOST IDENTIFICATION HAS CHANGED"))
            return new SshLoginResult(false, $"host key changed: {where} shows a different key than known_hosts records " +
                                             "(the server was reinstalled, or someone is in between); check it, then remove the old key with ssh-keygen -R", detail);
        if (Says("Host key verification failed") || Says("host key is known"))
            return new SshLoginResult(false, $"host key not trusted: {where} is not in known_hosts and strict_host_key_checking is " +
                                             $"'{connection.StrictHostKeyChecking}'; add its key to known_hosts, or use accept-new", detail);
        if (Says("Permission denied") || Says("Too many authentication failures"))
        {
            var methods = PermissionDenied().Match(string.Join('\n', lines)) is { Success: true } m ? m.Groups[1].Value : null;
            return new SshLoginResult(false, $"authentication failed: {where} refused {who}" +
                                             $"{(methods is null ? "" : $" (the server accepts: {methods})")}; check user, key_file or password", detail);
        }
        if (Says("Connection refused"))
            return new SshLoginResult(false, $"unreachable: nothing listens on {where} (connection refused)", detail);
        if (Says("timed out"))
            return new SshLoginResult(false, $"unreachable: no answer from {where} (connection timed out)", detail);
        if (Says("Could not resolve hostname"))
            return new SshLoginResult(false, $"unreachable: the host name {connection.Host} does not resolve", detail);
        if (Says("No route to host") || Says("Network is unreachable"))
            return new SshLoginResult(false, $"unreachable: no route to {where}", detail);
        if (Says("bad permissions") || Says("UNPROTECTED PRIVATE KEY FILE"))
            return new SshLoginResult(false, $"key file refused by ssh: {connection.KeyFile} may be read by others; chmod 600 it", detail);
        return new SshLoginResult(false, $"failed (ssh exit code {exitCode})", detail);
    }

    [GeneratedRegex(@"using ""([^""]+)""")]
    private static partial Regex AuthMethod();

    [GeneratedRegex(@"Permission denied \(([^)]*)\)")]
    private static partial Regex PermissionDenied();
}
