package platform

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/loadgen"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// The keepalive policy is on the Lambda request path: these tests run real
// fn processes behind the Lambda front end and check the simulator's rules
// (package simulator, "The Lambda path") by counts and identities, not by
// wall times, which a loaded machine stretches.

type lambdaResp struct {
	instance string
	cold     bool
	status   int
}

func lambdaGet(t *testing.T, p *Platform, query string) lambdaResp {
	t.Helper()
	resp, err := http.Get(p.URL() + "/" + query)
	if err != nil {
		t.Error(err)
		return lambdaResp{}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return lambdaResp{resp.Header.Get(loadgen.HeaderInstance), resp.Header.Get(loadgen.HeaderColdStart) == "true", resp.StatusCode}
}

// A scenario under keepalive with one request per instance: every cold
// start is an instance started, and every instance started served a cold
// request first, whatever containerConcurrency the function declares.
func TestLambdaColdStartsEqualPodStarts(t *testing.T) {
	pat, err := traffic.Parse("poisson:rate=8")
	if err != nil {
		t.Fatal(err)
	}
	for _, cc := range []int{1, 10} {
		sc := &scenarios.Scenario{Name: "lambda", Duration: 4 * time.Second, Seed: 7, Traffic: pat,
			Functions: []scenarios.Function{{Name: "f", ContainerConcurrency: cc, Service: dist.Fixed{D: 150 * time.Millisecond},
				Startup: scenarios.Startup{AppInit: dist.Fixed{D: 200 * time.Millisecond}}}}}
		res, err := RunScenario(context.Background(), sc, scenarios.Policy{Name: "keepalive", Settings: map[string]string{"keep-alive": "2s"}},
			RunOptions{FnBinary: fnBinary, Deployed: true, StopTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		s := res.Summary
		t.Logf("containerConcurrency %d: %d requests, %d completed, %d cold starts, %d pod starts", cc, s.Requests, s.Completed, s.ColdStarts, s.PodStarts)
		if s.Requests < 10 || s.Completed != s.Requests {
			t.Errorf("cc %d: %d of %d requests completed, want all of at least 10", cc, s.Completed, s.Requests)
		}
		if s.ColdStarts != s.PodStarts || s.PodStarts < 1 {
			t.Errorf("cc %d: %d cold starts, %d pod starts: want equal, at least 1", cc, s.ColdStarts, s.PodStarts)
		}
		if s.ColdStarts >= s.Requests {
			t.Errorf("cc %d: every request cold (%d): idle instances were not reused", cc, s.ColdStarts)
		}
	}
}

// A request that finds every instance busy starts a new instance and waits
// for it, even though the busy one frees long before the new one is ready;
// the next request then takes the most recently used idle instance.
func TestLambdaBindsToNewInstanceAndReusesMostRecent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		routing string
		wantNew bool // the request waits for a new instance of its own
	}{
		{name: "lambda", routing: "lambda", wantNew: true},
		// The policy's Tick still adds an instance for the peak of two,
		// but the request takes the one that frees first.
		{name: "first-free (the activator's routing)", routing: "first-free", wantNew: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A start takes 1.5 s, far longer than the 300 ms the busy
			// instance has left when the second request arrives.
			p := start(t, Function{Name: "f", ContainerConcurrency: 1, Policy: "keepalive",
				Startup:  scenarios.Startup{AppInit: dist.Fixed{D: 1500 * time.Millisecond}},
				Settings: map[string]string{"keep-alive": "30s", "routing": tc.routing}})
			if first := lambdaGet(t, p, ""); !first.cold || first.status != 200 {
				t.Fatalf("first request %+v, want a cold 200", first)
			}
			var busy, second lambdaResp
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				busy = lambdaGet(t, p, "?work=400ms")
			}()
			time.Sleep(100 * time.Millisecond)
			second = lambdaGet(t, p, "")
			wg.Wait()
			if busy.cold || busy.status != 200 {
				t.Fatalf("request to the idle instance %+v, want a warm 200", busy)
			}
			if got := second.instance != busy.instance; got != tc.wantNew || second.cold != tc.wantNew {
				t.Fatalf("request while %s was busy went to %s (cold %v); want a new instance and cold: %v", busy.instance, second.instance, second.cold, tc.wantNew)
			}
			if n := p.PodStats("f").Starts; n != 2 {
				t.Fatalf("%d instances started, want 2", n)
			}
			if tc.wantNew {
				// Both idle now; the second instance went idle last.
				if next := lambdaGet(t, p, ""); next.instance != second.instance || next.cold {
					t.Fatalf("next request went to %s (cold %v), want the most recently used idle instance %s", next.instance, next.cold, second.instance)
				}
			}
		})
	}
}

// An idle instance is retired keep-alive after its last request, unless it
// is one of the min provisioned instances.
func TestLambdaKeepAliveRetiresIdleInstances(t *testing.T) {
	p := start(t, Function{Name: "f", ContainerConcurrency: 1, Policy: "keepalive",
		Settings: map[string]string{"keep-alive": "1s", "min": "1"}})
	waitReady(t, p, "f", 1)
	// Two at once: one takes the provisioned instance, the other starts
	// an instance of its own.
	var wg sync.WaitGroup
	got := make([]lambdaResp, 2)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = lambdaGet(t, p, "?work=300ms")
		}()
	}
	wg.Wait()
	if got[0].instance == got[1].instance || got[0].cold == got[1].cold {
		t.Fatalf("two requests at once: %+v, want one warm on the provisioned instance and one cold on a new one", got)
	}
	if ps, _ := p.Pods("f"); ps.Ready != 2 {
		t.Fatalf("right after the requests: %+v, want 2 ready instances", ps)
	}
	time.Sleep(1400 * time.Millisecond)
	if ps, _ := p.Pods("f"); ps.Ready != 1 || ps.NotReady != 0 {
		t.Fatalf("1.4 s after the last request with keep-alive 1s: %+v, want only the provisioned instance", ps)
	}
	for _, pod := range p.PodList("f") {
		if !strings.HasSuffix(pod.Name, "-1") {
			t.Fatalf("left %s, want the provisioned instance f-1", pod.Name)
		}
	}
}

// At max instances a request waits for the first to free and is not cold.
func TestLambdaAtMaxQueuesWarm(t *testing.T) {
	p := start(t, Function{Name: "f", ContainerConcurrency: 1, Policy: "keepalive",
		Settings: map[string]string{"keep-alive": "30s", "max": "1"}})
	var wg sync.WaitGroup
	got := make([]lambdaResp, 3)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = lambdaGet(t, p, "?work=200ms")
		}()
	}
	wg.Wait()
	cold := 0
	for _, r := range got {
		if r.status != 200 || r.instance != "f-1" {
			t.Fatalf("responses %+v, want every request served by the one instance f-1", got)
		}
		if r.cold {
			cold++
		}
	}
	if cold != 1 || p.PodStats("f").Starts != 1 {
		t.Fatalf("%d cold of 3, %d instances started: want 1 and 1 (the others queued)", cold, p.PodStats("f").Starts)
	}
}

// A function that cannot start under keepalive: each request starts an
// instance of its own, and one whose instance died is bound to another
// only after a back-off, so the starts stay a few per request (without
// it, a tight loop of restarts per waiting request), and the run reports
// the crash loop as under any policy.
func TestLambdaCrashLoopBacksOff(t *testing.T) {
	pat, err := traffic.Parse("constant:rate=10")
	if err != nil {
		t.Fatal(err)
	}
	sc := &scenarios.Scenario{Name: "crash", Duration: 2 * time.Second, Seed: 1, Traffic: pat,
		Activator: scenarios.Activator{Timeout: time.Second},
		Functions: []scenarios.Function{{Name: "fn", MemoryMB: scenarios.DefaultMemoryMB}}}
	res, err := RunScenario(context.Background(), sc, scenarios.Policy{Name: "keepalive"},
		RunOptions{FnBinary: crashingFunction(t), StopTimeout: 5 * time.Second})
	var fail *RunFailure
	if !errors.As(err, &fail) || res == nil || !fail.NoneCompleted || fail.CrashLoop == nil {
		t.Fatalf("err %v, result %v; want a RunFailure with a crash loop and none completed", err, res)
	}
	s := res.Summary
	t.Logf("%d requests, %d pod starts, %d crashes", s.Requests, s.PodStarts, s.PodCrashes)
	if s.PodStarts > 6*s.Requests {
		t.Fatalf("%d instances started for %d requests, want a few per request at most (back-off)", s.PodStarts, s.Requests)
	}
}
