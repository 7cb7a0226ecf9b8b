using LocalPort.Core.Config;
using YamlDotNet.RepresentationModel;
namespace LocalPort.Core.Tests.Config;
public sealed class ZzScratchTests
{
    [Fact]
    public void Scratch()
    {
        var yaml = "defaults:\n  restart_policy: {max+XB\naT[\\who_attempts: 3}\nservices: []\n";
        try { new YamlStream().Load(new StringReader(yaml)); } catch (Exception e) { File.WriteAllText("/tmp/lp-config-ex.txt", e.ToString()); }
    }
}
