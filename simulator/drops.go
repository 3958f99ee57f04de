package simulator

// dropReason is why the platform answered a request with an error instead
// of running it; summary.json counts each under its String name.
type dropReason uint8

const (
	// dropQueueFull: the activator's buffer (queueDepth) was full.
	dropQueueFull dropReason = iota
	// dropTimeout: the request waited for capacity until its deadline
	// while the autoscaler was adding pods.
	dropTimeout
	// dropNoEndpoints: no ready pod behind the Service and nothing to
	// hold the request (the HPA's request path at zero).
	dropNoEndpoints
	// dropReplicaCap: the request waited until its deadline while the
	// autoscaler asked for no more pods than were ready: at its replica
	// cap (such as OpenFaaS CE's 5) or holding.
	dropReplicaCap
	nDropReasons
)

func (r dropReason) String() string {
	return [...]string{"queue_full", "timeout", "no_endpoints", "replica_cap"}[r]
}

// dropReasons is a function's drop counts by reason, nil when none.
func (f *fnState) dropReasons() map[string]int64 {
	var out map[string]int64
	for why, n := range f.drops {
		if n > 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[dropReason(why).String()] = n
		}
	}
	return out
}
