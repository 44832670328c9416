// Each test runs a cluster of three server processes: one at a time, or six of them would share two cores.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
