// The suite measures recovery and shutdown times on a 2-core machine; tests running side by side
// would measure each other. One at a time keeps the figures honest (the whole project stays < 1 min).
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// Real sshd, signals, /proc and Unix file modes: these tests are for Linux (CI runs them there).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
