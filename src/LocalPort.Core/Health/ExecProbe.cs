using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Health;

/// <summary>
/// Runs a user command (argv, no shell) with LOCALPORT_SERVICE and LOCALPORT_PORT set;
/// exit code 0 is healthy.
/// </summary>
public sealed class ExecProbe : IHealthProbe
{
    // After a kill the tree is gone in milliseconds; this only bounds a wedged reaper.
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);

    private readonly string _serviceName;
    private readonly int _port;
    private readonly TimeSpan _timeout;
    private readonly IReadOnlyList<string> _command;

    public ExecProbe(string serviceName, int port, TimeSpan timeout, IReadOnlyList<string> command)
    {
        _serviceName = serviceName;
        _port = port;
        _timeout = timeout;
        _command = command;
    }

    public async Task<ProbeResult> CheckAsync(CancellationToken cancellationToken)
    {
        if (_command.Count == 0 || string.IsNullOrWhiteSpace(_command[0]))
            return ProbeResult.Fail("no command configured");
        if (cancellationToken.IsCancellationRequested)
            return ProbeResult.Fail(ProbeErrors.TimedOut(_timeout));

        using var process = new Process();
        var lastErrorLine = new LastLine();
        process.ErrorDataReceived += (_, e) => lastErrorLine.Offer(e.Data);
        // stdout is drained so a chatty command never blocks on a full pipe.
        process.OutputDataReceived += static (_, _) => { };
        try
        {
            process.StartInfo = BuildStartInfo();
            process.Start();
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            return ProbeResult.Fail($"cannot start '{_command[0]}': {ProbeErrors.FirstLine(e.Message)}");
        }
        // A probe has no input to give; EOF keeps a command that reads stdin from hanging.
        process.StandardInput.Close();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await KillTreeAsync(process).ConfigureAwait(false);
            return ProbeResult.Fail(ProbeErrors.TimedOut(_timeout));
        }

        if (process.ExitCode == 0) return ProbeResult.Ok;
        var detail = lastErrorLine.Value;
        var code = process.ExitCode.ToString(CultureInfo.InvariantCulture);
        return ProbeResult.Fail(detail is null ? $"exit code {code}" : $"exit code {code}: {detail}");
    }

    private ProcessStartInfo BuildStartInfo()
    {
        var info = new ProcessStartInfo(_command[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        for (var i = 1; i < _command.Count; i++) info.ArgumentList.Add(_command[i]);
        info.Environment["LOCALPORT_SERVICE"] = _serviceName;
        info.Environment["LOCALPORT_PORT"] = _port.ToString(CultureInfo.InvariantCulture);
        // Like every child we start: out of the terminal's process group, so Ctrl-C does not fail a check.
        OwnSession.Apply(info);
        return info;
    }

    private static async Task KillTreeAsync(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited between the cancellation and the kill.
        }
        using var bounded = new CancellationTokenSource(KillWait);
        try
        {
            await process.WaitForExitAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // A descendant that escaped the tree still holds our pipes; the kill itself has been sent.
        }
    }

    /// <summary>Keeps only the last non-empty stderr line; output arrives on a thread-pool thread.</summary>
    private sealed class LastLine
    {
        private readonly Lock _gate = new();
        private string? _value;

        public string? Value
        {
            get { lock (_gate) return _value; }
        }

        public void Offer(string? line)
        {
            if (line is null) return;
            // The command's stderr becomes a probe message, shown in status: no terminal escapes.
            line = ControlCharacters.Strip(line);
            if (string.IsNullOrWhiteSpace(line)) return;
            var trimmed = ProbeErrors.FirstLine(line);
            lock (_gate) _value = trimmed;
        }
    }
}
