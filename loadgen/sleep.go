package loadgen

import (
	"runtime"
	"time"
)

// spinMargin is how much of a wait after an idle gap sleepUntil spins
// rather than sleeps.
const spinMargin = time.Millisecond

// sleepUntil returns at deadline rather than up to a millisecond after it.
// An idle Go process sleeps in the runtime's network poller, whose timeout
// has millisecond resolution, so a time.Sleep in an idle process wakes up
// to a millisecond late: an on/off pattern's first request of each burst,
// which follows seconds of idling, left 0.3–1 ms after its intended time,
// all of it counted in its latency. So the last spinMargin is spun
// (yielding to other goroutines); the Pacer does it only after a wait
// longer than longestSleep, i.e. at rates below 50/s, where it costs at
// most 5% of a core. nanosleep(2) was no better on the VMs measured.
func sleepUntil(deadline time.Time) {
	if d := time.Until(deadline) - spinMargin; d > 0 {
		time.Sleep(d)
	}
	for time.Now().Before(deadline) {
		runtime.Gosched()
	}
}
