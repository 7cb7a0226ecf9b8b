using System.Threading.Channels;

namespace LocalPort.Cli.Running;

/// <summary>
/// Holds lines back until a gate opens, then writes them in order: shutdown progress must not be
/// printed into the middle of a live table that is still being redrawn.
/// </summary>
public sealed class GatedWriter
{
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Task _drain;

    public GatedWriter(TextWriter inner, Task gate)
    {
        _drain = Task.Run(async () =>
        {
            await gate;
            await foreach (var line in _lines.Reader.ReadAllAsync())
            {
                inner.WriteLine(line);
                inner.Flush();
            }
        });
    }

    public void WriteLine(string line) => _lines.Writer.TryWrite(line);

    /// <summary>Waits until every line written so far has reached the inner writer.</summary>
    public Task CompleteAsync()
    {
        _lines.Writer.TryComplete();
        return _drain;
    }
}
