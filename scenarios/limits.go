package scenarios

import (
	"fmt"
	"time"

	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/traffic"
)

// Limits on everything in a scenario that sizes a run's work. A scenario
// file and the command-line flags that build one are held to the same
// limits by the same functions: the parser reports a value beyond them at
// the line that set it, and CheckLimits checks a scenario built in code or
// from flags. The policies' own settings are bounded in package autoscaler
// (autoscaler.MaxPods).
const (
	// MaxDuration bounds a scenario's length: a typo such as 5000h would
	// otherwise hang a bench for days.
	MaxDuration = 14 * 24 * time.Hour
	// MaxQueueDepth bounds the activator's per-revision buffer.
	MaxQueueDepth = 1_000_000
	// MaxTimeout bounds how long a request may wait for capacity; Cloud
	// Run's longest request timeout is an hour, Knative's default maximum
	// 10 minutes.
	MaxTimeout = time.Hour
	// MaxWorkMean bounds the mean of a service time or start-up phase
	// distribution: no serverless platform runs a request longer than an
	// hour (Lambda stops at 15 minutes), and a simulated run lasts until
	// its last request completes, so fixed:1000000h would simulate, and
	// write, a century.
	MaxWorkMean = time.Hour
	// MaxContainerConcurrency is Knative's container-concurrency-max-limit
	// default.
	MaxContainerConcurrency = 1000
	// MaxReadinessPeriod bounds the readiness probe period (Kubernetes
	// allows any, but a probe rarer than a minute makes every start-up a
	// minute long).
	MaxReadinessPeriod = time.Minute
	// MaxRequests bounds the requests a scenario's traffic plans over its
	// duration: ten billion, about half an hour of simulation at the
	// simulator's 6 million requests a second (the rate alone is bounded
	// at 1e9/s by package traffic, which times 336h is 1.2e15).
	MaxRequests = 1e10
)

// CheckDuration checks a scenario's traffic length.
func CheckDuration(d time.Duration) error {
	if d < time.Second || d > MaxDuration {
		return fmt.Errorf("want a duration between 1s and %s, got %s", MaxDuration, d)
	}
	return nil
}

// CheckQueueDepth checks the activator's queue depth (0 = the platform
// default).
func CheckQueueDepth(n int) error {
	if n < 0 || n > MaxQueueDepth {
		return fmt.Errorf("want a queue depth from 0 (the platform default) to %d, got %d", MaxQueueDepth, n)
	}
	return nil
}

// CheckTimeout checks the request timeout while waiting (0 = the platform
// default).
func CheckTimeout(d time.Duration) error {
	if d < 0 || d > MaxTimeout {
		return fmt.Errorf("want a timeout from 0 (the platform default) to %s, got %s", MaxTimeout, d)
	}
	return nil
}

// CheckContainerConcurrency checks a function's containerConcurrency
// (0 = unlimited).
func CheckContainerConcurrency(n int) error {
	if n < 0 || n > MaxContainerConcurrency {
		return fmt.Errorf("want containerConcurrency from 0 (unlimited) to %d, got %d", MaxContainerConcurrency, n)
	}
	return nil
}

// CheckWork checks a service time or start-up phase distribution (nil is a
// phase switched off).
func CheckWork(d dist.Dist) error {
	if d != nil && (d.Mean() < 0 || d.Mean() > MaxWorkMean) {
		return fmt.Errorf("%s has mean %s; want at most %s", d, d.Mean(), MaxWorkMean)
	}
	return nil
}

// CheckReadinessPeriod checks the readiness probe period (0 = ready as soon
// as the phases end).
func CheckReadinessPeriod(d time.Duration) error {
	if d < 0 || d > MaxReadinessPeriod {
		return fmt.Errorf("want a readiness period from 0 to %s, got %s", MaxReadinessPeriod, d)
	}
	return nil
}

// CheckRequests checks the requests p plans over d, from its Rate at the
// middle of each second.
func CheckRequests(p traffic.Pattern, d time.Duration) error {
	if p == nil {
		return nil
	}
	total := 0.0
	for t := time.Duration(0); t < d; t += time.Second {
		total += p.Rate(t + time.Second/2)
	}
	if !(total <= MaxRequests) {
		return fmt.Errorf("%s for %s plans about %.3g requests; want at most %.0e (a lower rate or a shorter duration)", p, d, total, float64(MaxRequests))
	}
	return nil
}

// CheckLimits checks every limit above on sc, naming the value that is out
// of bounds: the same checks the parser makes on a file, for a scenario
// that flags or code built or changed.
func CheckLimits(sc *Scenario) error {
	if err := CheckDuration(sc.Duration); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	if err := CheckRequests(sc.Traffic, sc.Duration); err != nil {
		return fmt.Errorf("traffic: %w", err)
	}
	for _, f := range sc.Functions {
		for _, r := range f.Revisions {
			if r.TagTraffic == nil {
				continue
			}
			if err := CheckRequests(r.TagTraffic, sc.Duration); err != nil {
				return fmt.Errorf("function %s: revision %s: tagTraffic: %w", f.Name, r.Name, err)
			}
		}
	}
	if err := CheckQueueDepth(sc.Activator.QueueDepth); err != nil {
		return fmt.Errorf("activator queue depth: %w", err)
	}
	if err := CheckTimeout(sc.Activator.Timeout); err != nil {
		return fmt.Errorf("activator timeout: %w", err)
	}
	for _, f := range withRevisions(sc.Functions) {
		if err := CheckContainerConcurrency(f.ContainerConcurrency); err != nil {
			return fmt.Errorf("function %s: %w", f.Name, err)
		}
		for _, w := range []struct {
			what string
			d    dist.Dist
		}{{"service", f.Service}, {"startup.schedule", f.Startup.Schedule}, {"startup.imagePull", f.Startup.ImagePull},
			{"startup.containerStart", f.Startup.ContainerStart}, {"startup.appInit", f.Startup.AppInit}} {
			if err := CheckWork(w.d); err != nil {
				return fmt.Errorf("function %s: %s: %w", f.Name, w.what, err)
			}
		}
		if err := CheckReadinessPeriod(f.Startup.ReadinessPeriod); err != nil {
			return fmt.Errorf("function %s: startup.readinessPeriod: %w", f.Name, err)
		}
	}
	return nil
}
