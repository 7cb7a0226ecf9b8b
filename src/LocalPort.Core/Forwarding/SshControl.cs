using LocalPort.Core.Config;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Forwarding;

/// <summary>
/// Runs one short-lived <c>ssh -S CONTROL -O COMMAND</c> against a master: by absolute path, in the ledger while it
/// runs, and bounded: one that does not answer in time (a stopped master never will) is killed.
/// </summary>
public static class SshControl
{
    public sealed record Outcome(bool Ok, string Detail, bool TimedOut = false);

    /// <summary>The mux commands we use.</summary>
    public const string Forward = "forward", Cancel = "cancel", Check = "check";

    /// <remarks>Starting a process blocks for a moment: call it off an actor's thread (Task.Run).</remarks>
    public static async Task<Outcome> RunAsync(SshConnection connection, string controlPath, string command, IReadOnlyList<SshForward> forwards,
        TimeSpan timeout, ResourceLedger? ledger)
    {
        ChildProcess child;
        try
        {
            child = ChildProcess.Start(new ProcessSpec(connection.SshPath ?? "ssh", TunnelCommands.SshControl(connection, controlPath, command, forwards))
            {
                Ledger = ledger,
            });
        }
        catch (Exception e)
        {
            return new Outcome(false, $"could not run ssh -O {command}: {e.Message}");
        }
        try
        {
            if (await Task.WhenAny(child.Exited, Task.Delay(timeout)) != child.Exited)
            {
                child.Kill();
                await Task.WhenAny(child.Exited, Task.Delay(TimeSpan.FromSeconds(2)));
                return new Outcome(false, $"ssh -O {command} got no answer from the master within {Durations.Format(timeout)}", TimedOut: true);
            }
            var code = await child.Exited;
            return code == 0 ? new Outcome(true, "") : new Outcome(false, $"ssh -O {command} failed: {FailureClassifier.Classify(child.Tail)}");
        }
        finally
        {
            child.Dispose();
        }
    }
}
