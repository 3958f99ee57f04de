package platform

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/autoscaler/controller"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/simulator"
)

// A canary on real processes: v1 has the route, v2 is created at 6 s and
// takes half from then (once Ready), the whole route from 12 s; its tag's
// URL gets 2 requests/s of its own from 6 s. Each
// revision's requests follow the split, each has pods of its own, and v1,
// at 0% from 12 s, goes back to zero pods through its policy's normal path.
const canaryScenario = `name: canary-local
duration: 30s
seed: 7
functions:
  - name: api
    containerConcurrency: 10
    service: fixed:20ms
    startup:
      schedule: fixed:0s
      imagePull: fixed:0s
      containerStart: fixed:0s
      appInit: fixed:100ms
    revisions:
      - name: v1
        settings: {initial-scale: "1"}
      - name: v2
        tag: canary
        tagTraffic: constant:rate=2    # to /canary-api/, from its creation on
    split:
      - {at: 6s, percent: {v1: 50, v2: 50}}
      - {at: 12s, percent: {v2: 100}}
traffic: constant:rate=20
policies:
  - name: knative
    settings: {stable-window: 6s, scale-to-zero-grace-period: 2s, scale-to-zero-pod-retention-period: 0s}
backends: [sim, local]
`

func TestRunCanarySplitsRequestsAndPodsPerRevision(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes for 30 s")
	}
	sc, err := scenarios.Parse("canary-local.yaml", []byte(canaryScenario))
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunScenario(context.Background(), sc, sc.Policies[0], RunOptions{FnBinary: fnBinary, StopTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if len(s.Revisions) != 2 || s.Revisions[0].Revision != "v1" || s.Revisions[1].Revision != "v2" {
		t.Fatalf("revisions %+v, want v1 and v2", s.Revisions)
	}
	v1, v2 := s.Revisions[0], s.Revisions[1]
	if v1.Requests+v2.Requests != s.Requests || s.Requests != 648 {
		t.Fatalf("requests v1 %d + v2 %d, total %d; want 600 + 48 to the tag in all, each answered by a revision", v1.Requests, v2.Requests, s.Requests)
	}
	// The split: v1 has 6 s of 20/s and half of the next 6 s, less what
	// waited for v2 to be Ready (its one pod's start-up); v2 the rest and
	// the tag's 48.
	for _, c := range []struct {
		name     string
		got      int64
		lo, high int64
	}{
		{"v1", v1.Requests, 160, 215},
		{"v2", v2.Requests, 433, 488},
	} {
		if c.got < c.lo || c.got > c.high {
			t.Errorf("%s served %d requests, want %d to %d by the split", c.name, c.got, c.lo, c.high)
		}
	}
	if v1.DeployAtSeconds != 0 || v2.DeployAtSeconds < 6 || v2.DeployAtSeconds > 6.5 {
		t.Errorf("created at %.3f s and %.3f s, want 0 and 6", v1.DeployAtSeconds, v2.DeployAtSeconds)
	}
	if v2.FirstTrafficSeconds < v2.DeployAtSeconds || v2.FirstTrafficSeconds > 9 {
		t.Errorf("v2 first given traffic at %.3f s, want once Ready after 6 s", v2.FirstTrafficSeconds)
	}
	if v1.PodStarts < 1 || v2.PodStarts < 1 || v2.MaxPods < 1 {
		t.Errorf("pod starts v1 %d, v2 %d (max %d): want pods of each revision's own", v1.PodStarts, v2.PodStarts, v2.MaxPods)
	}
	// The route waits for v2's pod before giving it traffic, and one pod
	// carries half of 20 requests/s of 20 ms: the rollout's cold starts
	// are those of the tag's first request, which does not wait for
	// Ready (it addresses the revision), as in the simulator.
	if s.RolloutColdStarts == nil || *s.RolloutColdStarts != v2.ColdStarts || v2.ColdStarts != 1 {
		t.Errorf("rollout cold starts %v, v2 cold starts %d: want the tag's first request's, counted as the rollout's", s.RolloutColdStarts, v2.ColdStarts)
	}
	// The same scenario and seed on the simulator splits the same way.
	sim, err := simulator.Run(context.Background(), sc, sc.Policies[0], simulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, rs := range sim.Summary.Revisions {
		if d := rs.Requests - s.Revisions[i].Requests; d < -25 || d > 25 {
			t.Errorf("%s: %d requests on the simulator, %d on the local platform", rs.Revision, rs.Requests, s.Revisions[i].Requests)
		}
	}
	if c := sim.Summary.Revisions[1].ColdStarts; c != v2.ColdStarts {
		t.Errorf("v2: %d cold starts on the simulator, %d on the local platform", c, v2.ColdStarts)
	}
	var ts bytes.Buffer
	if err := WriteTimeseries(&ts, res.Started, res.Began, res.Ticks, res.Routes); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&ts).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if h := strings.Join(rows[0][:4], ","); h != "t_seconds,function,revision,percent" {
		t.Fatalf("timeseries header starts %s", h)
	}
	// v1 at 0% from 12 s scales to zero within the stable window and
	// grace (6 s + 2 s) and a tick or two.
	var v1Last, v2Pct string
	for _, row := range rows[1:] {
		if row[1] != "api" {
			t.Fatalf("row %v: want function api", row)
		}
		switch row[2] {
		case "v1":
			v1Last = row[4+3] // ready
		case "v2":
			v2Pct = row[3]
		default:
			t.Fatalf("row %v: want revision v1 or v2", row)
		}
	}
	if v1Last != "0" || v2Pct != "100" {
		t.Errorf("at the end v1 has %s ready pods and v2 %s%% of the route; want 0 and 100", v1Last, v2Pct)
	}
}

func TestRevisionSeconds(t *testing.T) {
	began := time.Unix(1000, 0)
	at := func(ms int) time.Time { return began.Add(time.Duration(ms) * time.Millisecond) }
	routes := []RouteStatus{{Function: "api", Revisions: []RevisionStatus{{Name: "v1", Key: "api-v1"}, {Name: "v2", Key: "api-v2"}},
		Splits: []SplitChange{{At: 0, Percent: []int{100, 0}}, {At: 1500 * time.Millisecond, Percent: []int{0, 100}}}}}
	ticks := []controller.Tick{
		{Time: at(0), Revision: "api-v1", Pods: autoscaler.Pods{Ready: 2}},
		{Time: at(1200), Revision: "api-v2", Pods: autoscaler.Pods{Ready: 1}},
		{Time: at(2100), Revision: "api-v1", Pods: autoscaler.Pods{Ready: 0}},
	}
	var got []string
	RevisionSeconds(began, 3*time.Second, ticks, routes, func(sec int64, name string, ready, percent int) {
		got = append(got, fmt.Sprintf("%d %s %d %d", sec, name, ready, percent))
	})
	want := "[0 v1 2 100 0 v2 0 0 1 v1 2 0 1 v2 1 100 2 v1 0 0 2 v2 1 100]"
	if fmt.Sprint(got) != want {
		t.Errorf("got  %v\nwant %s", got, want)
	}
}

func TestStartRejectsBadRoutes(t *testing.T) {
	steps := []scenarios.SplitStep{{At: 0, Percent: []int{100, 0}, Rollout: -1}}
	rev := func(name, tag string) RouteRevision {
		return RouteRevision{Function: Function{Name: name, Policy: "kpa"}, Tag: tag}
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no split", Config{Routes: []Route{{Name: "api", Revisions: []RouteRevision{rev("v1", "")}}}}, "wants revisions and a split"},
		{"name clash with a function", Config{Functions: []Function{{Name: "api"}},
			Routes: []Route{{Name: "api", Revisions: []RouteRevision{rev("v1", ""), rev("v2", "")}, Steps: steps}}}, "listed twice"},
		{"revision clash with a function", Config{Functions: []Function{{Name: "api-v1"}},
			Routes: []Route{{Name: "api", Revisions: []RouteRevision{rev("v1", ""), rev("v2", "")}, Steps: steps}}}, "listed twice"},
		{"step for three revisions", Config{Routes: []Route{{Name: "api", Revisions: []RouteRevision{rev("v1", ""), rev("v2", "")},
			Steps: []scenarios.SplitStep{{Percent: []int{50, 25, 25}, Rollout: -1}}}}}, "does not have"},
		{"tag twice", Config{Routes: []Route{{Name: "api", Revisions: []RouteRevision{rev("v1", "x"), rev("v2", "x")}, Steps: steps}}}, "given twice"},
		{"bad name", Config{Routes: []Route{{Name: "a/b", Revisions: []RouteRevision{rev("v1", "")}, Steps: steps}}}, "want a non-empty name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.FnBinary = fnBinary
			p, err := Start(tc.cfg)
			if err == nil {
				p.Close(context.Background())
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}
}

func TestRouteForCanaryVariant(t *testing.T) {
	sc, err := scenarios.Load("../scenarios/library/rollout-canary.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var pol scenarios.Policy
	for _, p := range sc.Policies {
		if p.Label == "knative/canary" {
			pol = p
		}
	}
	rc, err := RouteFor(sc.Functions[0], 0, sc, pol)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rc.Steps); got != "[{0s [100 0] -1 0s} {3m0s [90 10] -1 0s} {5m0s [50 50] -1 0s} {7m0s [0 100] -1 0s}]" {
		t.Errorf("steps %s, want the manual canary's", got)
	}
	if !rc.RolledOut[1] || rc.RolledOut[0] || rc.Variant == nil {
		t.Errorf("variant %v for %v, want it for v2, which the split rolls out to", rc.Variant, rc.RolledOut)
	}
	if v1 := rc.Revisions[0]; v1.Name != "v1" || v1.Settings["initial-scale"] != "5" || v1.Policy != "knative" {
		t.Errorf("v1 %s under %s with %v, want its initial-scale 5 over knative's settings", v1.Name, v1.Policy, v1.Settings)
	}
	if v2 := rc.Revisions[1]; v2.Tag != "canary" || v2.DeployAt != 3*time.Minute {
		t.Errorf("v2 tag %q created at %v, want canary at 3m", v2.Tag, v2.DeployAt)
	}
}
