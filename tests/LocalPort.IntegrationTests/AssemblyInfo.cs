// The suite measures recovery and shutdown times on a 2-core machine; tests running side by side
// would measure each other. One at a time keeps the figures honest (the whole project stays < 1 min).
[assembly: CollectionBehavior(DisableTestParallelization = true)]
