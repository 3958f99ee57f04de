package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Percentiles of a latency distribution, in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Summary is summary.json: one run of one policy on one scenario, whichever
// world produced it. Fields a world cannot know are left zero and omitted.
type Summary struct {
	// What ran.
	Kind     string `json:"kind"` // sim, load, run
	Policy   string `json:"policy,omitempty"`
	Scenario string `json:"scenario,omitempty"`
	Backend  string `json:"backend,omitempty"` // simulator, local, url
	Seed     int64  `json:"seed"`
	// DurationSeconds is the traffic's planned length.
	DurationSeconds float64 `json:"duration_seconds"`

	// Requests.
	Requests  int64 `json:"requests"`
	Completed int64 `json:"completed"`
	Dropped   int64 `json:"dropped"`
	// DropReasons breaks Dropped down: queue_full (the activator's buffer
	// was full), timeout (waited for capacity until the deadline while
	// pods were being added), no_endpoints (no ready pod and nothing to
	// hold the request), replica_cap (waited until the deadline while the
	// autoscaler asked for no more pods than were ready).
	DropReasons    map[string]int64 `json:"drop_reasons,omitempty"`
	ColdStarts     int64            `json:"cold_starts"`
	ColdStartRatio float64          `json:"cold_start_ratio"`

	// Latency from the intended send time (no coordinated omission).
	Latency     Percentiles `json:"latency_ms"`
	ColdLatency Percentiles `json:"cold_latency_ms"`

	// Pods and cost.
	PodStarts      int64   `json:"pod_starts"`
	PodSeconds     float64 `json:"pod_seconds"`
	IdlePodSeconds float64 `json:"idle_pod_seconds"`
	MaxPods        int     `json:"max_pods"`
	// PodStartup is a real platform's measured pod start-up, phase by phase.
	PodStartup *PodStartup `json:"pod_startup_ms,omitempty"`
	// PodCrashes counts a real platform's pod processes that exited without
	// being asked to (or could not start); PodCrashesServing those that had
	// been ready (killed under load). Crashes reports the first of them.
	PodCrashes        int64      `json:"pod_crashes,omitempty"`
	PodCrashesServing int64      `json:"pod_crashes_serving,omitempty"`
	Crashes           []PodCrash `json:"crashes,omitempty"`

	// Revisions breaks the run down per revision when a function has
	// several; RolloutColdStarts counts the cold starts of the revisions
	// created after the start (what the rollout cost). Both are absent
	// for scenarios without revisions.
	Revisions         []RevisionSummary `json:"revisions,omitempty"`
	RolloutColdStarts *int64            `json:"rollout_cold_starts,omitempty"`

	// PodLimit is the platform's capacity in pods, reported when it bound:
	// PodsRefused pods the policies (or, on the Lambda path, requests)
	// asked for could not be created, counted at each decision that
	// wanted them, as a cluster at capacity leaves them pending.
	PodLimit    int   `json:"pod_limit,omitempty"`
	PodsRefused int64 `json:"pods_refused,omitempty"`
	// Unfinished counts requests still in flight or waiting when the
	// simulator stopped at its drain limit.
	Unfinished int64 `json:"unfinished,omitempty"`

	// Simulator figures.
	SimWallSeconds       float64 `json:"sim_wall_seconds,omitempty"`
	SimRequestsPerSecond float64 `json:"sim_requests_per_second,omitempty"`

	// Load generator figures.
	RequestedRate float64          `json:"requested_rate,omitempty"`
	AchievedRate  float64          `json:"achieved_rate,omitempty"`
	Errors        map[string]int64 `json:"errors,omitempty"`
	// SentLatency is measured from the actual send time, beside Latency
	// (from the intended time); the two differ when the generator lags.
	SentLatency *Percentiles `json:"sent_latency_ms,omitempty"`
	Aborted     string       `json:"aborted,omitempty"`
	Warnings    []string     `json:"warnings,omitempty"`

	// Distributions for statistical gates: [microseconds, count] buckets.
	LatencyHistogram     [][2]int64 `json:"latency_histogram,omitempty"`
	ColdLatencyHistogram [][2]int64 `json:"cold_latency_histogram,omitempty"`
}

// PodCrash is one pod process that exited without being asked to.
type PodCrash struct {
	Pod string `json:"pod"`
	// Phase is "starting" (before readiness; repeated, a crash loop) or
	// "serving" (killed under load).
	Phase string `json:"phase"`
	// Exit is how it ended: "exit status 1", "signal: killed", or
	// "start: ..." when the process could not be started.
	Exit string `json:"exit"`
	// InFlight is the requests the pod held when its exit was seen.
	InFlight int `json:"in_flight,omitempty"`
	// StderrTail is the end of the process's stderr.
	StderrTail string `json:"stderr_tail,omitempty"`
	// AtSeconds is when it died, from the start of the traffic.
	AtSeconds float64 `json:"at_seconds"`
}

// Fill sets the latency fields from the two histograms.
func (s *Summary) Fill(all, cold *Histogram) {
	s.Latency = all.Percentiles()
	s.ColdLatency = cold.Percentiles()
	s.LatencyHistogram = all.Buckets()
	s.ColdLatencyHistogram = cold.Buckets()
	if s.Requests > 0 {
		s.ColdStartRatio = float64(s.ColdStarts) / float64(s.Requests)
	}
}

// WriteJSON writes v as indented JSON to path, through a temporary file and
// a rename so readers never see half a file.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReadSummary reads a summary.json.
func ReadSummary(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: not a summary.json: %v", path, err)
	}
	return &s, nil
}

// ReadSummaries reads either shape of summary.json: a single run's (kind
// sim, load or run) or a bench's (kind bench, every run under "runs").
func ReadSummaries(path string) ([]Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	var probe struct {
		Kind string    `json:"kind"`
		Runs []Summary `json:"runs"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%s: not a summary.json: %v", path, err)
	}
	switch probe.Kind {
	case "bench":
		if len(probe.Runs) == 0 {
			return nil, fmt.Errorf("%s: bench summary with no runs", path)
		}
		return probe.Runs, nil
	case "sim", "load", "run":
		var s Summary
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: not a summary.json: %v", path, err)
		}
		return []Summary{s}, nil
	}
	return nil, fmt.Errorf("%s: kind %q, want sim, load, run or bench", path, probe.Kind)
}
