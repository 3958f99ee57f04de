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
	// GatewayTimeout is DefaultTimeout on the gateway path (PathGateway):
	// the OpenFaaS gateway's upstream timeout.
	GatewayTimeout = 60 * time.Second
	// GatewayPoll is how often the OpenFaaS gateway polls for a ready
	// replica while it holds a request at zero.
	GatewayPoll = 100 * time.Millisecond
)

// DeployedPods is how many pods a revision is deployed with, given its
// policy's first decision (made with no data): the decision's Desired (the
// KPA's initial scale) — except that a Deployment on the direct or gateway
// path (the HPA's, OpenFaaS's) starts with the one replica its manifest
// gives it when the policy has no valid decision yet, since neither
// platform ever deploys a function at zero.
func DeployedPods(path RequestPath, first Decision) int {
	n := max(0, first.Desired)
	if !first.Valid && n == 0 && (path == PathDirect || path == PathGateway) {
		n = 1
	}
	return n
}

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
