using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace LocalPort.TestKube.Tests.Support;

/// <summary>Runs the real kubectl against a test server's kubeconfig.</summary>
public sealed class Kubectl(TestKubeServer server, string cacheDirectory, ITestOutputHelper? output = null)
{
    /// <summary>$KUBECTL, else kubectl on PATH, else /usr/bin/kubectl (v1.32 on the project's machines).</summary>
    public static readonly string Binary = Resolve();

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    /// <summary>kubectl ≥ 1.31 tries WebSocket first; this makes it use SPDY straight away.</summary>
    public static readonly KeyValuePair<string, string> NoWebSockets = new("KUBECTL_PORT_FORWARD_WEBSOCKETS", "false");

    public async Task<KubectlResult> RunAsync(params string[] args) => await RunAsync(args, [], DefaultTimeout);

    public async Task<KubectlResult> RunAsync(string[] args, KeyValuePair<string, string>[] env, TimeSpan timeout)
    {
        using var process = Start(args, env);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kubectl {string.Join(' ', args)} did not finish within {timeout}");
        }
        var result = new KubectlResult(process.ExitCode, await stdout, await stderr);
        output?.WriteLine($"$ kubectl {string.Join(' ', args)}  (exit {result.ExitCode})\n{result.Stdout}{result.Stderr}");
        return result;
    }

    /// <summary>Starts <c>kubectl port-forward TARGET :REMOTE</c> (a free local port) and waits for its "Forwarding from" line.</summary>
    public async Task<PortForwardProcess> PortForwardAsync(string target, int remotePort, params KeyValuePair<string, string>[] env)
    {
        var process = new PortForwardProcess(Start(["port-forward", target, $":{remotePort}"], env), output);
        try
        {
            var line = await process.WaitForOutputAsync(new Regex(@"Forwarding from 127\.0\.0\.1:(\d+) ->"), DefaultTimeout);
            process.LocalPort = int.Parse(Regex.Match(line, @"127\.0\.0\.1:(\d+)").Groups[1].Value);
            return process;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    private static string Resolve()
    {
        if (Environment.GetEnvironmentVariable("KUBECTL") is { Length: > 0 } configured)
        {
            return configured;
        }
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "kubectl");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return "/usr/bin/kubectl";
    }

    private Process Start(string[] args, KeyValuePair<string, string>[] env)
    {
        var info = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["KUBECONFIG"] = server.KubeconfigPath;
        info.Environment["KUBECACHEDIR"] = cacheDirectory;
        info.Environment.Remove("KUBECTL_PORT_FORWARD_WEBSOCKETS");
        foreach (var (key, value) in env)
        {
            info.Environment[key] = value;
        }
        return Process.Start(info) ?? throw new InvalidOperationException("kubectl did not start");
    }
}

public sealed record KubectlResult(int ExitCode, string Stdout, string Stderr);

/// <summary>A running <c>kubectl port-forward</c>; its output is captured line by line; Dispose kills it.</summary>
public sealed class PortForwardProcess : IDisposable
{
    private readonly Process _process;
    private readonly ITestOutputHelper? _output;
    private readonly object _gate = new();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _pumps;

    internal PortForwardProcess(Process process, ITestOutputHelper? output)
    {
        _process = process;
        _output = output;
        _pumps = Task.WhenAll(PumpAsync(process.StandardOutput, _stdout), PumpAsync(process.StandardError, _stderr));
        _ = Task.Run(async () =>
        {
            await process.WaitForExitAsync();
            await _pumps;
            _exited.TrySetResult();
            Signal();
        });
    }

    public int LocalPort { get; internal set; }

    public bool HasExited => _exited.Task.IsCompleted;

    public int ExitCode => _process.ExitCode;

    public string Stdout
    {
        get
        {
            lock (_gate)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Waits for a line of stdout or stderr matching <paramref name="pattern"/>; returns it.</summary>
    public async Task<string> WaitForOutputAsync(Regex pattern, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var match = (_stdout + "\n" + _stderr).Split('\n').FirstOrDefault(pattern.IsMatch);
                if (match is not null)
                {
                    return match;
                }
                if (HasExited)
                {
                    throw new InvalidOperationException($"kubectl exited ({_process.ExitCode}) without printing /{pattern}/:\n{_stdout}{_stderr}");
                }
                changed = _changed.Task;
            }
            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no /{pattern}/ from kubectl within {timeout}:\n{Stdout}{Stderr}");
            }
        }
    }

    /// <summary>Waits for kubectl to exit; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _exited.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"kubectl port-forward still running after {timeout}:\n{Stdout}{Stderr}");
        }
        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        try
        {
            _output?.WriteLine($"[kubectl port-forward :{LocalPort}] stdout:\n{Stdout}stderr:\n{Stderr}");
        }
        catch (InvalidOperationException)
        {
            // Disposed by a class fixture after its last test: there is no test output to write to.
        }
        _process.Dispose();
    }

    private async Task PumpAsync(StreamReader reader, StringBuilder sink)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_gate)
            {
                sink.Append(line).Append('\n');
            }
            Signal();
        }
    }

    private void Signal()
    {
        TaskCompletionSource previous;
        lock (_gate)
        {
            previous = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        previous.TrySetResult();
    }
}
