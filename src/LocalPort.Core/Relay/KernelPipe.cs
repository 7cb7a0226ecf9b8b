using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace LocalPort.Core.Relay;

/// <summary>
/// A pipe for splice(2) on Linux: bytes move socket → pipe → socket inside the kernel (page references, no copy
/// through user space). Held only while bytes move, like the copy path's buffers; empty pipes go back to a small
/// pool so a burst does not cost pipe2 and two closes.
/// </summary>
internal sealed partial class KernelPipe
{
    /// <summary>What one splice asks for; the pipe is sized to hold it (64 KiB moved less per call, 1 MiB no more than this).</summary>
    public const int Capacity = 256 * 1024;

    /// <summary>Idle pipes kept (2 descriptors each): few, since every one is a descriptor the relay's headroom does not see.</summary>
    private const int PoolSize = 8;
    private const int ONonBlock = 0x800, OCloExec = 0x80000;
    private const int FSetPipeSize = 1031;
    private const uint SpliceMove = 1, SpliceNonBlock = 2;
    private const int EAgain = 11, EIntr = 4;

    private static readonly ConcurrentBag<KernelPipe> Pool = [];
    private static int _pooled;

    private readonly int _read;
    private readonly int _write;

    private KernelPipe(int read, int write)
    {
        _read = read;
        _write = write;
    }

    public static bool Supported { get; } = OperatingSystem.IsLinux();

    /// <summary>A pooled or new pipe; null when none can be made (out of descriptors): the caller copies instead.</summary>
    public static KernelPipe? Rent()
    {
        if (Pool.TryTake(out var pipe))
        {
            Interlocked.Decrement(ref _pooled);
            return pipe;
        }
        return Create();
    }

    /// <summary>Back to the pool; only an empty pipe may be returned.</summary>
    public static void Return(KernelPipe pipe)
    {
        if (Interlocked.Increment(ref _pooled) <= PoolSize)
        {
            Pool.Add(pipe);
            return;
        }
        Interlocked.Decrement(ref _pooled);
        pipe.Close();
    }

    private static unsafe KernelPipe? Create()
    {
        int* fds = stackalloc int[2];
        if (Pipe2(fds, ONonBlock | OCloExec) != 0) return null;
        // Best effort: a pipe the kernel will not grow (pipe-user-pages-soft) still works, in smaller steps.
        Fcntl(fds[1], FSetPipeSize, Capacity);
        return new KernelPipe(fds[0], fds[1]);
    }

    /// <summary>Socket → pipe: bytes moved, 0 at end of stream, -1 when the socket has nothing to read now.</summary>
    /// <exception cref="SocketException">The socket failed (reset, closed).</exception>
    public int Fill(Socket from, int max) => Move(from.SafeHandle, true, max);

    /// <summary>Pipe → socket: bytes moved, -1 when the socket's send buffer is full.</summary>
    public int Drain(Socket to, int max) => Move(to.SafeHandle, false, max);

    /// <summary>Reads exactly <paramref name="count"/> bytes that are in the pipe into <paramref name="buffer"/>.</summary>
    public unsafe void ReadExactly(byte[] buffer, int count)
    {
        var done = 0;
        fixed (byte* start = buffer)
        {
            while (done < count)
            {
                var n = (int)ReadNative(_read, start + done, (nuint)(count - done));
                if (n > 0) done += n;
                else if (n < 0 && Marshal.GetLastPInvokeError() == EIntr) continue;
                else throw new SocketException(n == 0 ? (int)SocketError.Shutdown : Marshal.GetLastPInvokeError());
            }
        }
    }

    private int Move(SafeHandle socket, bool intoPipe, int max)
    {
        var added = false;
        try
        {
            // Held for the call: a socket closed meanwhile (abort) keeps its number until we are done with it.
            socket.DangerousAddRef(ref added);
            var fd = (int)socket.DangerousGetHandle();
            while (true)
            {
                var n = intoPipe
                    ? SpliceNative(fd, 0, _write, 0, (nuint)max, SpliceMove | SpliceNonBlock)
                    : SpliceNative(_read, 0, fd, 0, (nuint)max, SpliceMove | SpliceNonBlock);
                if (n >= 0) return (int)n;
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EIntr) continue;
                if (errno == EAgain) return -1;
                throw new SocketException(errno);
            }
        }
        finally
        {
            if (added) socket.DangerousRelease();
        }
    }

    /// <summary>Closes the pipe (bytes still in it are lost: only for a connection that is being cut).</summary>
    public void Close()
    {
        CloseNative(_read);
        CloseNative(_write);
    }

    [LibraryImport("libc", EntryPoint = "splice", SetLastError = true)]
    private static partial nint SpliceNative(int fdIn, nint offIn, int fdOut, nint offOut, nuint length, uint flags);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static unsafe partial int Pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadNative(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int CloseNative(int fd);
}
