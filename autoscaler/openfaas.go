package autoscaler

import "time"

// ofGateway is the part of OpenFaaS both editions share, because it is the
// gateway's, not the autoscaler's: the replica count last set, when the
// function last saw an invocation, and the scale from zero — a request for
// a function at zero replicas is held while the gateway asks for min
// replicas at once.
type ofGateway struct {
	lastActive int64
	wake       bool
	spec       int
	hasSpec    bool
}

// wakeOnTraffic reports whether traffic reached a function at zero
// replicas, marking it to be woken on the tick it asks for.
func (g *ofGateway) wakeOnTraffic(busy bool) bool {
	if busy && g.hasSpec && g.spec == 0 {
		g.wake = true
		return true
	}
	return false
}

// Poke is the gateway holding a request: at zero it scales the function to
// min replicas (at least 1) and waits for one to be ready.
func (g *ofGateway) Poke(now time.Time, demand float64) bool {
	if demand <= 0 {
		return false
	}
	g.lastActive = max(g.lastActive, now.UnixNano())
	return g.wakeOnTraffic(true)
}
