using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LocalPort.Core;

/// <summary>
/// Who owns a file and its permission bits: what LocalPort looks at before trusting a config or a state directory.
/// .NET gives the mode only (File.GetUnixFileMode), so the owner comes from statx(2), whose layout is the same on
/// every Linux architecture. Elsewhere on Unix only the mode is known (<see cref="OwnerId"/> is null).
/// </summary>
public sealed partial record FileStatus(uint? OwnerId, UnixFileMode Mode, uint? GroupId = null)
{
    private const UnixFileMode WriteByOthers = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;

    /// <summary>
    /// Someone besides the owner may change it: others have write permission, or its group does and that group is
    /// not the owner's private group. Under umask 002 (user private groups, the default for Debian and Ubuntu users)
    /// files are born 0664, and group write on a group of one is the owner's own (Debian's OpenSSH agrees).
    /// </summary>
    public bool WritableByOthers =>
        (Mode & UnixFileMode.OtherWrite) != 0 ||
        ((Mode & UnixFileMode.GroupWrite) != 0 && !(OwnerId is { } owner && GroupId is { } group && Accounts.IsPrivateGroup(group, owner)));

    /// <summary>"group", "others" or "group and others": who besides the owner may write it.</summary>
    public string OtherWriters => (Mode & WriteByOthers) switch
    {
        UnixFileMode.GroupWrite => "group",
        UnixFileMode.OtherWrite => "others",
        _ => "group and others",
    };

    /// <summary>The permission bits as chmod(1) writes them (0644).</summary>
    public string OctalMode => Convert.ToString((int)Mode, 8).PadLeft(4, '0');

    /// <summary>The file an open handle refers to (after every link was followed); null on Windows.</summary>
    /// <param name="path">The name it was opened by, for messages.</param>
    public static FileStatus? Of(SafeFileHandle handle, string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        if (!OperatingSystem.IsLinux()) return new FileStatus(null, File.GetUnixFileMode(handle));
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Statx((int)handle.DangerousGetHandle(), "", AtEmptyPath, path);
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>The directory entry itself, never a link's target (lstat); null on Windows or when it does not exist.</summary>
    public static FileStatus? OfEntry(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        if (!OperatingSystem.IsLinux())
            return File.Exists(path) || Directory.Exists(path) ? new FileStatus(null, File.GetUnixFileMode(path)) : null;
        return Statx(AtFdCwd, path, AtSymlinkNoFollow, path, missingIsNull: true);
    }

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxMode = 0x2;
    private const uint StatxUid = 0x8;
    private const uint StatxGid = 0x10;
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;
    // Offsets in struct statx (linux/stat.h): stx_uid and stx_gid are __u32 at 20 and 24, stx_mode a __u16 at 28; 256 bytes in all.
    private const int UidOffset = 20;
    private const int GidOffset = 24;
    private const int ModeOffset = 28;
    private const int PermissionBits = 0xFFF;

    private static FileStatus? Statx(int directory, string path, int flags, string forMessages, bool missingIsNull = false)
    {
        Span<byte> buffer = stackalloc byte[256];
        buffer.Clear();
        if (SysStatx(directory, path, flags, StatxMode | StatxUid | StatxGid, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (missingIsNull && errno is ENOENT or ENOTDIR) return null;
            throw new IOException($"cannot read the owner and mode of {forMessages}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        var uid = BitConverter.ToUInt32(buffer[UidOffset..]);
        var gid = BitConverter.ToUInt32(buffer[GidOffset..]);
        var mode = BitConverter.ToUInt16(buffer[ModeOffset..]) & PermissionBits;
        return new FileStatus(uid, (UnixFileMode)mode, gid);
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SysStatx(int directory, string path, int flags, uint mask, Span<byte> buffer);
}
