package results

import "time"

// PodStartup is a real platform's measured start-up of its pods, each phase
// as percentiles in milliseconds over the pods that became ready.
type PodStartup struct {
	// Pods counts the pods that became ready.
	Pods int `json:"pods"`
	// SpawnToListening is from the process's start (the exec returned) to
	// the function accepting connections; it contains the function's own
	// initialisation.
	SpawnToListening Percentiles `json:"spawn_to_listening"`
	// ListeningToReady is from listening to the readiness probe (or cmd/fn's
	// readiness line) seeing it.
	ListeningToReady Percentiles `json:"listening_to_ready"`

	// FromZero counts the scales from zero: a request found the revision
	// with no pod at all. The phases below follow, for each, the pod its
	// first request was released onto.
	FromZero int `json:"from_zero"`
	// PokeToSpawn is from that request reaching the activator (which pokes
	// the autoscaler) through the tick, the scale decision and the pod
	// manager to the process's start.
	PokeToSpawn Percentiles `json:"poke_to_spawn"`
	// ReadyToRelease is from readiness to the activator releasing the
	// first buffered request onto the pod.
	ReadyToRelease Percentiles `json:"ready_to_release"`
	// PokeToRelease is the whole wait of that first request, less nothing:
	// subtract the function's init time for the platform's own overhead.
	PokeToRelease Percentiles `json:"poke_to_release"`
}

// StartupTimes are the instants of one pod's start-up, as a platform
// recorded them; zero times are unknown.
type StartupTimes struct {
	Poke, Spawned, Listening, Ready, Released time.Time
}

// NewPodStartup summarises pod start-ups. Pods with the same Poke belong to
// one scale from zero.
func NewPodStartup(pods []StartupTimes) *PodStartup {
	h := map[string]*Histogram{}
	rec := func(name string, from, to time.Time) {
		if from.IsZero() || to.IsZero() {
			return
		}
		if h[name] == nil {
			h[name] = NewHistogram()
		}
		h[name].Record(max(0, to.Sub(from)))
	}
	out := &PodStartup{}
	// A scale from zero may start several pods; its first request took the
	// path of the pod it was released onto, the first to take a request.
	first := map[time.Time]StartupTimes{}
	for _, p := range pods {
		out.Pods++
		rec("spawn", p.Spawned, p.Listening)
		rec("listening", p.Listening, p.Ready)
		if p.Poke.IsZero() {
			continue
		}
		if f, seen := first[p.Poke]; !seen || earlier(p.Released, f.Released) {
			first[p.Poke] = p
		}
	}
	for _, p := range first {
		out.FromZero++
		rec("poke", p.Poke, p.Spawned)
		rec("release", p.Ready, p.Released)
		rec("total", p.Poke, p.Released)
	}
	pct := func(name string) Percentiles {
		if h[name] == nil {
			return Percentiles{}
		}
		return h[name].Percentiles()
	}
	out.SpawnToListening, out.ListeningToReady = pct("spawn"), pct("listening")
	out.PokeToSpawn, out.ReadyToRelease, out.PokeToRelease = pct("poke"), pct("release"), pct("total")
	return out
}

// earlier orders times with the unknown (zero) time last.
func earlier(a, b time.Time) bool {
	return !a.IsZero() && (b.IsZero() || a.Before(b))
}
