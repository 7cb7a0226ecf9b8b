using System.Text;

namespace LocalPort.TestKube;

/// <summary>Writes the kubeconfig that points kubectl at the test server (plain http, bearer token).</summary>
internal static class Kubeconfig
{
    public static void Write(string path, Uri server, string context, string token, string ns, string? caPem)
    {
        var user = context + "-user";
        var text = new StringBuilder()
            .AppendLine("apiVersion: v1")
            .AppendLine("kind: Config")
            .AppendLine("preferences: {}")
            .AppendLine("clusters:")
            .AppendLine($"- name: {Quote(context)}")
            .AppendLine("  cluster:")
            .AppendLine($"    server: {Quote(server.ToString().TrimEnd('/'))}")
            .Append(caPem is null ? "" : $"    certificate-authority-data: {Convert.ToBase64String(Encoding.ASCII.GetBytes(caPem))}\n")
            .AppendLine("users:")
            .AppendLine($"- name: {Quote(user)}")
            .AppendLine("  user:")
            .AppendLine($"    token: {Quote(token)}")
            .AppendLine("contexts:")
            .AppendLine($"- name: {Quote(context)}")
            .AppendLine("  context:")
            .AppendLine($"    cluster: {Quote(context)}")
            .AppendLine($"    user: {Quote(user)}")
            .AppendLine($"    namespace: {Quote(ns)}")
            .AppendLine($"current-context: {Quote(context)}")
            .ToString();
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.Move(temp, path, overwrite: true);
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
