// kubectl subprocesses on a 2-core machine: one test at a time keeps timings honest and the suite lean.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
