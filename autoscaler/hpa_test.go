package autoscaler

import (
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// peerBase is the virtual start time of the peer-policy tests.
var peerBase = time.Unix(1_700_000_000, 0)

func peerAt(sec int) time.Time { return peerBase.Add(time.Duration(sec) * time.Second) }

func peerNew(t testing.TB, name string, set map[string]string) Policy {
	t.Helper()
	p, err := New(name, set)
	if err != nil {
		t.Fatalf("New(%s, %v): %v", name, set, err)
	}
	return p
}

// peerDrive feeds a policy as every world does: one Record per second, a
// Tick every Interval (counted from second 0) and right after a Record that
// asks for one. The pods follow the decision at once when follow is true
// (a closed loop with instant pods); otherwise ready stays at start.
// It returns the desired scale in force after each second.
func peerDrive(p Policy, seconds, start int, follow bool, stat func(sec int) Stat) []int {
	every := int(p.Interval() / time.Second)
	ready, desired := start, start
	out := make([]int, seconds)
	for sec := 0; sec < seconds; sec++ {
		poke := p.Record(peerAt(sec), stat(sec))
		if sec%every == 0 || poke {
			if d := p.Tick(peerAt(sec), Pods{Ready: ready}); d.Valid {
				desired = d.Desired
				if follow {
					ready = desired
				}
			}
		}
		out[sec] = desired
	}
	return out
}

func TestHPAReplicaCalculator(t *testing.T) {
	cpu := map[string]string{"target-utilization": "50", "cpu-request-millicores": "100"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	pod := func(milli float64) PodMetric { return PodMetric{Ready: true, HasMetric: true, Value: milli} }
	noMetric := PodMetric{Ready: true}
	unready := PodMetric{}
	cases := []struct {
		name string
		set  map[string]string
		stat Stat
		pods Pods
		want int
	}{
		// The worked cases of the replica calculator (replica_calculator.go and
		// its tests; requests 100m, target 50%).
		{"3 pods at 90m scale to 6", cpu, Stat{CPU: 270}, Pods{Ready: 3}, 6},
		{"3 pods at 90m, per-pod metrics", cpu, Stat{}, Pods{Metrics: []PodMetric{pod(90), pod(90), pod(90)}}, 6},
		{"3 pods at 52m stay within tolerance", cpu, Stat{CPU: 156}, Pods{Ready: 3}, 3},
		{"3 pods at 52m with zero tolerance go to 4", with(cpu, "tolerance", "0"), Stat{CPU: 156}, Pods{Ready: 3}, 4},
		{"3 pods at 52m with zero scale-up tolerance go to 4", with(cpu, "scale-up-tolerance", "0"), Stat{CPU: 156}, Pods{Ready: 3}, 4},
		{"3 pods at 52m with zero scale-down tolerance stay 3", with(cpu, "scale-down-tolerance", "0"), Stat{CPU: 156}, Pods{Ready: 3}, 3},
		{"3 pods at 30m scale down to 2", cpu, Stat{CPU: 90}, Pods{Ready: 3}, 2},
		{"3 pods at 30m with a 0.5 scale-down tolerance stay 3", with(cpu, "scale-down-tolerance", "0.5"), Stat{CPU: 90}, Pods{Ready: 3}, 3},
		{"2 pods at 20m and 1 without metrics stay 3", cpu, Stat{}, Pods{Metrics: []PodMetric{pod(20), pod(20), noMetric}}, 3},
		{"2 pods at 20m alone scale down to 1", cpu, Stat{}, Pods{Metrics: []PodMetric{pod(20), pod(20)}}, 1},
		{"2 pods at 90m and 2 new unready stay 4", cpu, Stat{CPU: 180}, Pods{Ready: 2, NotReady: 2}, 4},
		// Unready pods count as 0 on a scale-up, which can flip it or
		// bring it within tolerance.
		{"2 pods at 60m and 2 unready stay 4 (direction flips)", cpu, Stat{CPU: 120}, Pods{Ready: 2, NotReady: 2}, 4},
		{"2 pods at 80m and 1 unready stay 3 (within tolerance)", cpu, Stat{}, Pods{Metrics: []PodMetric{pod(80), pod(80), unready}}, 3},
		{"2 pods at 80m alone scale to 4", cpu, Stat{CPU: 160}, Pods{Ready: 2}, 4},
		{"2 pods at 60m and 2 without metrics stay 4", cpu, Stat{}, Pods{Metrics: []PodMetric{pod(60), pod(60), noMetric, noMetric}}, 4},
		// CPU utilization is an integer percent: 166m over 300m is 55%,
		// ratio 1.1, within tolerance (unrounded it would be 1.107 -> 4).
		{"utilization truncates to an integer percent", cpu, Stat{}, Pods{Metrics: []PodMetric{pod(55), pod(55), pod(56)}}, 3},
		{"default target is 80% of the request", nil, Stat{CPU: 3 * 1000}, Pods{Ready: 3}, 4},
		{"concurrency 15 per pod, target 10", map[string]string{"metric": "concurrency", "target": "10"}, Stat{Concurrency: 45, CPU: 1e6}, Pods{Ready: 3}, 5},
		{"rps 8 per pod, target 10: ceil(3.2) keeps 4", map[string]string{"metric": "rps", "target": "10"}, Stat{RPS: 32}, Pods{Ready: 4}, 4},
		{"rps 6 per pod, target 10 scales down", map[string]string{"metric": "rps", "target": "10"}, Stat{RPS: 24}, Pods{Ready: 4}, 3},
		{"custom metric: missing pods count as the target on a scale-down", map[string]string{"metric": "concurrency", "target": "10"}, Stat{}, Pods{Metrics: []PodMetric{pod(2), pod(2), noMetric, noMetric}}, 3},
		{"max-replicas caps", with(cpu, "max-replicas", "5"), Stat{CPU: 270}, Pods{Ready: 3}, 5},
		{"min-replicas floors", with(cpu, "min-replicas", "2"), Stat{CPU: 10}, Pods{Ready: 3}, 2},
		{"scale-to-zero alpha reads an external metric at zero pods", map[string]string{"metric": "concurrency", "target": "10", "min-replicas": "0", "scale-to-zero-alpha": "true"}, Stat{Concurrency: 25}, Pods{}, 3},
		{"scale-to-zero alpha goes to zero without load", map[string]string{"metric": "concurrency", "target": "10", "min-replicas": "0", "scale-to-zero-alpha": "true"}, Stat{}, Pods{Ready: 2}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := peerNew(t, "hpa", tc.set)
			p.Record(peerAt(0), tc.stat)
			d := p.Tick(peerAt(0), tc.pods)
			if !d.Valid || d.Desired != tc.want {
				t.Errorf("got valid=%v desired=%d (recommended %d, value %g), want %d", d.Valid, d.Desired, d.Recommended, d.Stable, tc.want)
			}
			if d.ActivatorInPath != (d.Desired == 0) {
				t.Errorf("ActivatorInPath=%v with desired %d", d.ActivatorInPath, d.Desired)
			}
		})
	}
}

func TestHPANoChange(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]string
		pods Pods
		rec  bool
	}{
		{"no metrics recorded yet", nil, Pods{Ready: 2}, false},
		{"no ready pods to read metrics from", nil, Pods{NotReady: 2}, true},
		{"a workload at zero the HPA did not put there", nil, Pods{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := peerNew(t, "hpa", tc.set)
			if tc.rec {
				p.Record(peerAt(0), Stat{CPU: 5000})
			}
			if d := p.Tick(peerAt(0), tc.pods); d.Valid {
				t.Errorf("got a valid decision %+v, want no change", d)
			}
		})
	}
}

func TestHPARateLimitsAndStabilization(t *testing.T) {
	// metric concurrency with target 1 makes the calculator's proposal the
	// load itself, so the series shows the normalization alone.
	load := func(high, low float64, until int) func(int) Stat {
		return func(sec int) Stat {
			if sec <= until {
				return Stat{Concurrency: high}
			}
			return Stat{Concurrency: low}
		}
	}
	type check struct{ sec, want int }
	cases := []struct {
		name   string
		set    map[string]string
		start  int
		stat   func(int) Stat
		checks []check
	}{
		{
			// Each sync may add max(4 pods, 100%) of the replicas at the
			// start of the 15 s period: 1 -> 5 -> 10 -> 20 -> 40 -> 80 -> 100.
			name: "behavior scale-up: 4 pods or 100% per 15 s", start: 1,
			stat:   load(100, 100, 1000),
			checks: []check{{0, 5}, {14, 5}, {15, 10}, {30, 20}, {45, 40}, {60, 80}, {75, 100}, {90, 100}},
		},
		{
			name: "legacy scale-up: max(2x, 4) per sync", start: 1,
			set:    map[string]string{"behavior": "false"},
			stat:   load(100, 100, 1000),
			checks: []check{{0, 4}, {15, 8}, {30, 16}, {45, 32}, {60, 64}, {75, 100}},
		},
		{
			name: "scale-up pods policy alone", start: 2,
			set:    map[string]string{"scale-up-percent": "0", "scale-up-pods": "3"},
			stat:   load(20, 20, 1000),
			checks: []check{{0, 5}, {15, 8}, {30, 11}},
		},
		{
			// The load drops after the sync at 60 s; the metric window of
			// the sync at 75 s holds only the low load, but the 100
			// recommended at 60 s holds the scale until it leaves the
			// 300 s window at 360 s.
			name: "scale-down stabilization 300 s", start: 100,
			stat:   load(100, 10, 60),
			checks: []check{{75, 100}, {345, 100}, {359, 100}, {360, 10}},
		},
		{
			name: "legacy scale-down stabilization 300 s", start: 100,
			set:  map[string]string{"behavior": "false"},
			stat: load(100, 10, 60),
			// Legacy keeps a sample exactly at the window's edge.
			checks: []check{{345, 100}, {360, 100}, {375, 10}},
		},
		{
			// Percent scale-down truncates: 100 -> 50 -> 25 -> 12 -> 10.
			name: "scale-down 50% per period without stabilization", start: 100,
			set:    map[string]string{"scale-down-stabilization": "0", "scale-down-percent": "50"},
			stat:   load(100, 10, 0),
			checks: []check{{15, 50}, {30, 25}, {45, 12}, {60, 10}},
		},
		{
			name: "scale-up stabilization window holds the lowest recommendation", start: 5,
			set:  map[string]string{"scale-up-stabilization": "30s"},
			stat: load(5, 50, 0),
			// The 5 recommended at 0 s stays in the window until 30 s.
			checks: []check{{15, 5}, {29, 5}, {30, 10}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := map[string]string{"metric": "concurrency", "target": "1"}
			for k, v := range tc.set {
				set[k] = v
			}
			p := peerNew(t, "hpa", set)
			got := peerDrive(p, tc.checks[len(tc.checks)-1].sec+1, tc.start, true, tc.stat)
			for _, c := range tc.checks {
				if got[c.sec] != c.want {
					t.Errorf("at %d s desired %d, want %d (series %v)", c.sec, got[c.sec], c.want, peerSample(got, 15))
				}
			}
		})
	}
}

// peerSample shows every step-th value of a long series.
func peerSample(s []int, step int) []int {
	var out []int
	for i := 0; i < len(s); i += step {
		out = append(out, s[i])
	}
	return out
}

func TestHPASyncsOnItsOwnPeriod(t *testing.T) {
	p := peerNew(t, "hpa", map[string]string{"metric": "concurrency", "target": "1"})
	p.Record(peerAt(0), Stat{Concurrency: 3})
	first := p.Tick(peerAt(0), Pods{Ready: 1})
	p.Record(peerAt(1), Stat{Concurrency: 300})
	if again := p.Tick(peerAt(2), Pods{Ready: first.Desired}); again != first {
		t.Errorf("a tick 2 s after a sync changed the decision: %+v, then %+v", first, again)
	}
	if p.Poke(peerAt(3), 500) {
		t.Error("Poke asked for a tick; the HPA has no request path")
	}
}

func TestHPASettingsValidation(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"unknown metric", map[string]string{"metric": "memory"}, "metric must be"},
		{"min 0 without the alpha gate", map[string]string{"metric": "rps", "min-replicas": "0"}, "scale-to-zero-alpha"},
		{"min 0 with CPU", map[string]string{"min-replicas": "0", "scale-to-zero-alpha": "true"}, "CPU cannot wake"},
		{"max below min", map[string]string{"min-replicas": "5", "max-replicas": "3"}, "max-replicas"},
		{"no scale-up policy", map[string]string{"scale-up-pods": "0", "scale-up-percent": "0"}, "scale-up needs"},
		{"tolerance of 1", map[string]string{"tolerance": "1"}, "tolerance"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("hpa", tc.set)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func BenchmarkHPATick(b *testing.B) {
	// Each op is one full sync: the clock advances a sync period per op.
	p := peerNew(b, "hpa", map[string]string{"metric": "concurrency", "target": "10"})
	pods := Pods{Ready: 10}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := peerAt(15 * i)
		p.Record(now, Stat{Concurrency: float64(50 + i%100)})
		pods.Ready = p.Tick(now, pods).Desired
	}
}

func TestPeerPoliciesRegistered(t *testing.T) {
	cases := []struct {
		name     string
		interval time.Duration
		settings int
	}{
		// The HPA syncs on its own period; the others tick every second so
		// notifications, refreshes and per-request starts land on time.
		{"hpa", 15 * time.Second, 21},
		{"openfaas-ce", time.Second, 15},
		{"openfaas-pro", time.Second, 11},
		{"keepalive", time.Second, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := peerNew(t, tc.name, nil)
			if p.Name() != tc.name || p.Interval() != tc.interval {
				t.Errorf("Name %q Interval %v, want %q %v", p.Name(), p.Interval(), tc.name, tc.interval)
			}
			s, err := Settings(tc.name)
			if err != nil || len(s) != tc.settings {
				t.Fatalf("Settings: %d settings, err %v; want %d", len(s), err, tc.settings)
			}
			for _, st := range s {
				if st.Key != strings.ToLower(st.Key) || strings.ContainsAny(st.Key, "_ |") || st.Usage == "" {
					t.Errorf("setting %q: want a documented kebab-case key", st.Key)
				}
			}
		})
	}
}

// TestPeerPoliciesInvariants drives each peer policy with a random series,
// random pokes between seconds and pods that lag the decision, and checks
// the bounds every decision must keep.
func TestPeerPoliciesInvariants(t *testing.T) {
	cases := []struct {
		name     string
		set      map[string]string
		min, max int
		zero     bool
	}{
		{"hpa", map[string]string{"metric": "concurrency", "target": "5", "max-replicas": "40"}, 1, 40, false},
		{"hpa", map[string]string{"metric": "rps", "target": "5", "min-replicas": "0", "scale-to-zero-alpha": "true", "max-replicas": "40", "behavior": "false"}, 0, 40, true},
		{"openfaas-ce", map[string]string{"scale-to-zero": "true", "idle-duration": "40s", "min": "2"}, 2, 5, true},
		{"openfaas-pro", map[string]string{"zero": "true", "zero-duration": "40s", "type": "capacity", "target": "3", "max": "12", "down-window": "1m"}, 1, 12, true},
		{"keepalive", map[string]string{"keep-alive": "30s", "max": "25"}, 0, 25, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(i)))
			p := peerNew(t, tc.name, tc.set)
			every := int(p.Interval() / time.Second)
			ready, desired := 1, 1
			for sec := 0; sec < 5000; sec++ {
				var s Stat
				if rng.Intn(4) > 0 && sec%900 < 600 {
					c := rng.Float64() * 40
					s = Stat{Concurrency: c, MaxConcurrency: math.Ceil(c * 1.5), RPS: c * 3, CPU: c * 50}
				}
				tick := p.Record(peerAt(sec), s)
				if rng.Intn(10) == 0 {
					at := peerAt(sec).Add(time.Duration(rng.Intn(1000)) * time.Millisecond)
					if p.Poke(at, float64(rng.Intn(30))) {
						desired = peerCheck(t, tc.min, tc.max, tc.zero, p.Tick(at, Pods{Ready: ready}), desired)
					}
				}
				if tick || sec%every == 0 {
					desired = peerCheck(t, tc.min, tc.max, tc.zero, p.Tick(peerAt(sec), Pods{Ready: ready, NotReady: max(0, desired-ready)}), desired)
				}
				// Pods follow the decision one step per second.
				switch {
				case ready < desired:
					ready++
				case ready > desired:
					ready--
				}
			}
		})
	}
}

func peerCheck(t *testing.T, lo, hi int, zero bool, d Decision, desired int) int {
	t.Helper()
	if !d.Valid {
		return desired
	}
	if d.Desired > hi || d.Desired < lo && !(zero && d.Desired == 0) {
		t.Fatalf("desired %d outside [%d, %d] (scale to zero %v)", d.Desired, lo, hi, zero)
	}
	if d.ActivatorInPath != (d.Desired == 0) {
		t.Fatalf("ActivatorInPath %v with desired %d", d.ActivatorInPath, d.Desired)
	}
	return d.Desired
}
