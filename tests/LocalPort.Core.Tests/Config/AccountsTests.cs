using LocalPort.Core;

namespace LocalPort.Core.Tests.Config;

public sealed class AccountsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lp-accounts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private bool PrivateGroup(uint gid, uint uid, string passwd, string group)
    {
        File.WriteAllText(Path.Combine(_dir, "passwd"), passwd);
        File.WriteAllText(Path.Combine(_dir, "group"), group);
        return Accounts.IsPrivateGroup(gid, uid, Path.Combine(_dir, "passwd"), Path.Combine(_dir, "group"));
    }

    private const string Passwd = "ann:x:1000:1000::/home/ann:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\ncarl:x:1002:100::/home/carl:/bin/sh\n";

    [Theory]
    [InlineData(1000u, 1000u, "ann:x:1000:\n", true)]           // a user private group
    [InlineData(1000u, 1000u, "ann:x:1000:ann\n", true)]        // listing the owner only
    [InlineData(1000u, 1000u, "ann:x:1000:bob\n", false)]       // bob is a member
    [InlineData(1001u, 1000u, "bob:x:1001:\n", false)]          // someone else's group
    [InlineData(100u, 1002u, "users:x:100:\n", false)]          // a shared group by name
    [InlineData(1000u, 1000u, "staff:x:1000:\n", false)]        // not named after the user
    [InlineData(1000u, 1000u, "", false)]                       // unknown group (e.g. from LDAP)
    [InlineData(1000u, 4242u, "ann:x:1000:\n", false)]          // unknown user
    public void A_group_is_private_only_when_it_is_the_owners_alone(uint gid, uint uid, string group, bool expected) =>
        Assert.Equal(expected, PrivateGroup(gid, uid, Passwd, group));

    [Fact]
    public void A_group_that_is_another_accounts_primary_group_is_not_private() =>
        Assert.False(PrivateGroup(1000, 1000, Passwd + "dave:x:1003:1000::/home/dave:/bin/sh\n", "ann:x:1000:\n"));

    [Fact]
    public void Missing_account_files_mean_not_private() =>
        Assert.False(Accounts.IsPrivateGroup(1000, 1000, Path.Combine(_dir, "nope"), Path.Combine(_dir, "nope2")));
}
