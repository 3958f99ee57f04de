package loadgen

import (
	"fmt"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/scalebench/scalebench/traffic"
)

// longestSleep bounds how long the vegeta attack loop may sleep at once.
// vegeta sleeps unconditionally before each hit and cannot be woken, so an
// idle gap of minutes (on/off traffic) is waited out inside Pace instead,
// where a stop can end it.
const longestSleep = 20 * time.Millisecond

// Pacer is a vegeta Pacer that yields the intended send times of a
// traffic.Source: hit n is due at start + arrival n's At, so a scenario
// sends the same requests at the same offsets as it does in the simulator.
//
// vegeta calls Pace from one goroutine with the number of hits already
// dispatched; each call that does not stop is followed by exactly one hit.
// The Pacer therefore owns the source cursor, and hands each arrival it
// commits to over to the Targeter through an ordered queue, ahead of the hit
// that will pick it up.
type Pacer struct {
	pattern traffic.Pattern
	src     traffic.Source
	handoff chan traffic.Arrival
	stop    <-chan struct{}

	began   time.Time
	started chan struct{} // closed once began is set
	last    traffic.Arrival
	pushed  uint64

	dispatched atomic.Uint64 // hits vegeta has dispatched so far
	done       atomic.Bool   // the source is exhausted
	latestEnd  atomic.Int64  // latest At+Work of the arrivals handed off
}

var _ vegeta.Pacer = (*Pacer)(nil)

// NewPacer paces the arrivals of pattern for seed and duration. queue bounds
// how many arrivals may wait between Pacer and Targeter: at least the
// attacker's largest number of workers plus one. A closed stop channel ends
// the attack even during a long idle gap.
func NewPacer(pattern traffic.Pattern, seed int64, duration time.Duration, queue int, stop <-chan struct{}) *Pacer {
	return &Pacer{
		pattern: pattern,
		src:     pattern.Arrivals(seed, duration),
		handoff: make(chan traffic.Arrival, queue),
		stop:    stop,
		started: make(chan struct{}),
	}
}

// Pace returns how long vegeta should wait before the next hit: until the
// next arrival's intended time. It stops when the source ends.
func (p *Pacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.began.IsZero() {
		// vegeta measures elapsed from its own start; reconstruct that
		// instant so intended times share vegeta's clock (monotonic).
		p.began = time.Now().Add(-elapsed)
		close(p.started)
	}
	p.dispatched.Store(hits)
	if hits < p.pushed {
		// Not expected from vegeta's loop, but if a hit was skipped the
		// arrival already handed off is still the one due.
		return p.wait(p.last.At)
	}
	a, ok := p.src.Next()
	if !ok {
		p.done.Store(true)
		return 0, true
	}
	select {
	case p.handoff <- a:
	default:
		// Only possible if vegeta ran more hits than the queue allows for;
		// stopping is better than pairing requests with the wrong arrival.
		return 0, true
	}
	p.last = a
	p.pushed++
	if end := int64(a.At + a.Work); end > p.latestEnd.Load() {
		p.latestEnd.Store(end)
	}
	return p.wait(a.At)
}

// wait blocks in slices until at is near, so a stop ends long idle gaps,
// and returns the remainder for vegeta to sleep (negative when behind: the
// hit goes out at once, open loop). An arrival after an idle gap (a wait
// longer than longestSleep) is instead waited for here to the end, on time
// (see sleepUntil), and 0 returned.
func (p *Pacer) wait(at time.Duration) (time.Duration, bool) {
	idle := false
	for {
		remaining := at - time.Since(p.began)
		if remaining <= longestSleep {
			if idle {
				sleepUntil(p.began.Add(at))
				return 0, false
			}
			return remaining, false
		}
		idle = true
		t := time.NewTimer(remaining - longestSleep/2)
		select {
		case <-p.stop:
			t.Stop()
			return 0, true
		case <-t.C:
		}
	}
}

// Rate is the pattern's planned rate at elapsed.
func (p *Pacer) Rate(elapsed time.Duration) float64 { return p.pattern.Rate(elapsed) }

// Began is the instant hit offsets are measured from; it blocks until the
// attack has started.
func (p *Pacer) Began() time.Time {
	<-p.started
	return p.began
}

// LatestEnd is the latest moment, from the start, at which a request handed
// off so far is due to finish its own work (Arrival.At + Arrival.Work).
func (p *Pacer) LatestEnd() time.Duration { return time.Duration(p.latestEnd.Load()) }

// Dispatched is the number of hits dispatched so far.
func (p *Pacer) Dispatched() uint64 { return p.dispatched.Load() }

// String describes the pacer in vegeta's style.
func (p *Pacer) String() string { return fmt.Sprintf("Arrivals{%s}", p.pattern) }

// Take returns the next arrival handed off by Pace, for the hit that is
// being prepared. ok is false if no arrival is waiting, which vegeta's
// one-hit-per-Pace loop rules out.
func (p *Pacer) Take() (traffic.Arrival, bool) {
	select {
	case a := <-p.handoff:
		return a, true
	default:
		return traffic.Arrival{}, false
	}
}
