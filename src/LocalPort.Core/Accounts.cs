namespace LocalPort.Core;

/// <summary>What /etc/passwd and /etc/group say about users and groups (local accounts only, no NSS).</summary>
public static class Accounts
{
    /// <summary>
    /// True when <paramref name="gid"/> is <paramref name="uid"/>'s private group: it bears the user's name, lists no
    /// other member, and is no other account's primary group. Anything unknown (an LDAP group, no such file) is not.
    /// </summary>
    public static bool IsPrivateGroup(uint gid, uint uid, string passwd = "/etc/passwd", string group = "/etc/group")
    {
        try
        {
            var users = Entries(passwd).Where(f => f.Length >= 4).ToList();
            var owner = users.FirstOrDefault(f => f[2] == uid.ToString())?[0];
            var entry = Entries(group).FirstOrDefault(f => f.Length >= 4 && f[2] == gid.ToString());
            if (owner is null || entry is null || entry[0] != owner) return false;
            var members = entry[3].Split(',', StringSplitOptions.RemoveEmptyEntries);
            return members.All(m => m == owner) && users.All(f => f[3] != gid.ToString() || f[0] == owner);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static IEnumerable<string[]> Entries(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split(':'));
}
