using LocalPort.Core.Processes;
using Microsoft.Win32.SafeHandles;

namespace LocalPort.Core.Config;

/// <summary>
/// A config makes LocalPort run programs (exec checks, ssh options), so like ssh with its own config it is read only
/// from a file nobody else can change: owned by the current user or root, and not writable by group or others.
/// </summary>
internal static class ConfigFileTrust
{
    private const string Override = "or pass --trust-config to read it anyway";

    /// <summary>Why the open file is not trusted, with the fix; null when it is.</summary>
    public static string? Problem(string path, SafeFileHandle handle)
    {
        if (FileStatus.Of(handle, path) is not { } status) return null;
        var me = Posix.EffectiveUserId;
        var resolved = ResolvesTo(path);
        if (status.OwnerId is { } owner && owner != me && owner != 0)
            return $"config file {path}{resolved} belongs to uid {owner}, not to you (uid {me}) or root, and whoever owns it can make " +
                   $"LocalPort run commands as you. Fix: `chown {me} {path}` or copy it to a file of your own, {Override}";
        if (status.WritableByOthers)
            return $"config file {path}{resolved} is writable by {status.OtherWriters} (mode {status.OctalMode}), and whoever can write it " +
                   $"can make LocalPort run commands as you. Fix: `chmod go-w {path}`, {Override}";
        return null;
    }

    /// <summary>" (a link to TARGET)" when the name is a symbolic link, so the message names the file that was judged.</summary>
    private static string ResolvesTo(string path)
    {
        try
        {
            return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true) is { } target ? $" (a link to {target.FullName})" : "";
        }
        catch (IOException)
        {
            return "";
        }
    }
}
