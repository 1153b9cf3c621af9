// Each test class starts a cluster of three silo processes and measures failure detection in seconds: on two cores,
// several clusters at once starve each other's probes and log followers, so the classes run one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
