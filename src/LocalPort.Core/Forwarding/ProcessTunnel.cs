using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Forwarding;

/// <summary>A tunnel backed by a child process (kubectl or ssh); subclasses decide when it is ready.</summary>
public abstract class ProcessTunnel : ITunnel
{
    protected readonly TaskCompletionSource<EndPoint> ReadySource = new(TaskCreationOptions.RunContinuationsAsynchronously);
    protected ChildProcess Child { get; private set; } = null!;

    public Task<EndPoint> Ready => ReadySource.Task;
    public Task<int> Exited => Child.Exited;
    public int? Pid => Child.Pid;
    public bool IsSuspended => !Exited.IsCompleted && Posix.State(Child.Pid) is 'T' or 't';

    protected void Launch(ProcessSpec spec)
    {
        Child = ChildProcess.Start(spec with { OnLine = OnLine });
        // A child that dies before it is ready fails the start with its own words.
        Child.Exited.ContinueWith(t => ReadySource.TrySetException(
            new TunnelStartException($"exited with code {t.Result} before it was ready: {DescribeFailure()}")), TaskScheduler.Default);
    }

    protected virtual void OnLine(string line) { }

    private static readonly TimeSpan SocketPollInterval = TimeSpan.FromMilliseconds(5);

    /// <summary>Ready once <paramref name="socketPath"/> accepts a connection (ssh creates it only when it can serve).</summary>
    protected async Task WaitUntilAccepting(string socketPath)
    {
        var endpoint = new UnixDomainSocketEndPoint(socketPath);
        while (!Exited.IsCompleted && !Ready.IsCompleted)
        {
            if (File.Exists(socketPath))
            {
                using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await probe.ConnectAsync(endpoint);
                    ReadySource.TrySetResult(endpoint);
                    return;
                }
                catch (SocketException)
                {
                }
            }
            await Task.Delay(SocketPollInterval);
        }
    }

    public virtual string DescribeFailure() => FailureClassifier.Classify(Child.Tail);

    public virtual Task StopAsync(TimeSpan grace, bool killAfterGrace = true) => Child.StopAsync(grace, killAfterGrace);

    public void Kill() => Child.Kill();
}

public sealed class TunnelStartException(string message) : Exception(message);
