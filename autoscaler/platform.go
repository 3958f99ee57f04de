package autoscaler

import "time"

// The platform behind Scaler has defaults and choices of its own that shape
// what a policy's decision does. They are defined here, once, so that the
// simulator, the local platform and a Kubernetes backend mean the same thing
// by "0 = platform default" in a scenario's activator section and remove the
// same pods when a decision scales down.
const (
	// DefaultQueueDepth is the most requests the activator holds per
	// revision while no pod has room: Knative's activator breaker queue
	// depth (breakerQueueDepth = 10000 in pkg/activator/net/throttler.go).
	DefaultQueueDepth = 10000
	// DefaultTimeout is how long a held request may wait for capacity
	// before a 503: Knative's default revision timeout (300 s,
	// revision-timeout-seconds in config-defaults).
	DefaultTimeout = 300 * time.Second
)

// PodState is what the platform knows of a pod when it picks the pods a
// scale-down removes.
type PodState struct {
	// Ready is set once the pod passed its readiness probe.
	Ready bool
	// InFlight is the number of requests the pod is serving.
	InFlight int
	// Seq orders pods by creation: a later pod has a larger Seq.
	Seq int64
}

// ScaleDownOrder orders pods for removal, first to go first (a comparison
// for slices.SortFunc): pods not ready yet, which serve nothing; then the
// least busy, whose removal cuts the fewest requests short; then the newest
// among equals, so the longest-lived pods, warm and proven, stay.
func ScaleDownOrder(a, b PodState) int {
	switch {
	case a.Ready != b.Ready:
		if !a.Ready {
			return -1
		}
		return 1
	case a.InFlight != b.InFlight:
		return a.InFlight - b.InFlight
	case a.Seq > b.Seq:
		return -1
	case a.Seq < b.Seq:
		return 1
	}
	return 0
}
