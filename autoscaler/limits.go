package autoscaler

// MaxPods bounds every setting that sizes a revision: min, max, initial
// and activation scale, replicas and instances. Each pod costs the
// simulator memory and the local platform a process, so a typo such as
// min-scale=100000000 must be refused, not obeyed. It is also the
// simulator's default platform capacity; large Kubernetes clusters run up
// to 150,000 pods in all.
const MaxPods = 100_000
