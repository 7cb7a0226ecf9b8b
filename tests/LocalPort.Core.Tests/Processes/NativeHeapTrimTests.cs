using System.Runtime.InteropServices;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Tests.Processes;

/// <summary>
/// The supervisor hands the native heap's free pages back once start-up has settled (malloc_trim(3) on glibc):
/// after many small blocks are freed, the trim finds pages to release and says so.
/// </summary>
public sealed class NativeHeapTrimTests
{
    [Fact]
    public void Freed_small_blocks_are_given_back_to_the_kernel()
    {
        // Small blocks come from the heap (large ones are mmap'd and unmapped at free): 32 MiB in 2 KiB pieces.
        var blocks = new IntPtr[16_384];
        for (var i = 0; i < blocks.Length; i++)
        {
            blocks[i] = Marshal.AllocHGlobal(2048);
            Marshal.WriteByte(blocks[i], 1);
        }
        foreach (var block in blocks) Marshal.FreeHGlobal(block);

        Assert.True(Posix.TrimNativeHeap(), "malloc_trim found nothing to release after 32 MiB of small blocks were freed");
    }
}
