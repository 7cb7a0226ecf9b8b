namespace LocalPort.Cli.Common;

/// <summary>Documented exit codes (README, SPEC §6).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int UsageOrConfig = 2;
    public const int DaemonNotRunning = 3;
    public const int PartialFailure = 4;
    public const int Interrupted = 130;
}
