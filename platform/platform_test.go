package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/loadgen"
	"github.com/scalebench/scalebench/platform/pods"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

var fnBinary string

// TestMain builds cmd/fn once for the package's tests and benchmarks.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "platform-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fnBinary = filepath.Join(dir, "fn")
	if out, err := exec.Command("go", "build", "-o", fnBinary, "github.com/scalebench/scalebench/cmd/fn").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build fn: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func start(t testing.TB, fn Function) *Platform {
	t.Helper()
	return startWith(t, Config{}, fn)
}

// startWith starts cfg with fn on the test's fn binary.
func startWith(t testing.TB, cfg Config, fn Function) *Platform {
	t.Helper()
	cfg.FnBinary, cfg.Functions, cfg.StopTimeout = fnBinary, []Function{fn}, 10*time.Second
	p, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return p
}

func waitReady(t testing.TB, p *Platform, name string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ps, _ := p.Pods(name); ps.Ready >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: fewer than %d ready pods after 10s", name, n)
}

func TestStartRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"non-loopback address", Config{Addr: "0.0.0.0:0", FnBinary: fnBinary, Functions: []Function{{Name: "f"}}}},
		{"no functions", Config{FnBinary: fnBinary}},
		{"unknown policy", Config{FnBinary: fnBinary, Functions: []Function{{Name: "f", Policy: "nope"}}}},
		{"bad setting", Config{FnBinary: fnBinary, Functions: []Function{{Name: "f", Settings: map[string]string{"stable-window": "soon"}}}}},
		{"reserved name", Config{FnBinary: fnBinary, Functions: []Function{{Name: "metrics"}}}},
		{"duplicate name", Config{FnBinary: fnBinary, Functions: []Function{{Name: "f"}, {Name: "f"}}}},
		{"missing binary", Config{FnBinary: "/nonexistent/fn", Functions: []Function{{Name: "f"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if p, err := Start(tc.cfg); err == nil {
				p.Close(context.Background())
				t.Fatal("want an error")
			}
		})
	}
}

func TestScaleFromZeroServesColdRequest(t *testing.T) {
	p := start(t, Function{Name: "f", Args: []string{"--init=30ms"}, ContainerConcurrency: 1,
		Settings: map[string]string{"initial-scale": "0", "allow-zero-initial-scale": "true"}})
	before := time.Now()
	resp, err := http.Get(p.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(before)
	if resp.StatusCode != 200 || resp.Header.Get(loadgen.HeaderColdStart) != "true" || !strings.HasPrefix(resp.Header.Get(loadgen.HeaderInstance), "f-") {
		t.Fatalf("got %d %v, want a cold 200 from a pod of f", resp.StatusCode, resp.Header)
	}
	if took < 30*time.Millisecond || took > 3*time.Second {
		t.Fatalf("cold request took %v, want init (30ms) plus a little", took)
	}
	poked := false
	for _, tk := range p.Controller().Ticks() {
		poked = poked || tk.Poked && tk.Decision.Desired >= 1
	}
	if !poked {
		t.Fatalf("no poked tick scaled up: %+v", p.Controller().Ticks())
	}
	// The cold start is timed phase by phase, from the request's poke to
	// its release onto the pod, each phase within the request's own wait.
	var st PodStartup
	for _, s := range p.PodStartups("f") {
		if !s.Released.IsZero() {
			st = s
		}
	}
	phases := []time.Time{before, st.Trigger, st.Spawned, st.Listening, st.Ready, st.Released, before.Add(took)}
	for i := 1; i < len(phases); i++ {
		if phases[i].IsZero() || phases[i].Before(phases[i-1]) {
			t.Fatalf("phase %d at %v, before phase %d at %v: %+v", i, phases[i], i-1, phases[i-1], st)
		}
	}
	if init := st.Listening.Sub(st.Spawned); init < 30*time.Millisecond {
		t.Fatalf("spawn to listening %v, shorter than fn's 30ms init", init)
	}
	mresp, err := http.Get(p.URL() + "/metrics")
	if err != nil || mresp.StatusCode != 200 {
		t.Fatalf("metrics endpoint: %v", err)
	}
	mresp.Body.Close()
}

// load sends requests from workers until stop closes and tallies outcomes:
// every request ends as a status code or a transport error.
type tally struct {
	mu        sync.Mutex
	sent      int
	codes     map[int]int
	explained int // non-200 answers naming their error kind
	transport []error
}

func load(url string, workers int, stop <-chan struct{}) *tally {
	t := &tally{codes: map[int]int{}}
	client := &http.Client{Timeout: 15 * time.Second}
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(url)
				t.mu.Lock()
				t.sent++
				if err != nil {
					t.transport = append(t.transport, err)
				} else {
					t.codes[resp.StatusCode]++
					if resp.StatusCode != 200 && resp.Header.Get("X-Scalebench-Error") != "" {
						t.explained++
					}
				}
				t.mu.Unlock()
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	<-stop
	wg.Wait()
	return t
}

func (t *tally) count(code int) int { return t.codes[code] }

func TestFaults(t *testing.T) {
	cases := []struct {
		name  string
		fault func(t *testing.T, p *Platform)
		// cutAllowed is whether in-flight requests at the pod may fail
		// (SIGKILL cuts them; a drain must not).
		cutAllowed bool
	}{
		{"SIGKILL a pod under load", func(t *testing.T, p *Platform) {
			victim := p.PodList("f")[0]
			syscall.Kill(victim.PID(), syscall.SIGKILL)
		}, true},
		{"scale down drains", func(t *testing.T, p *Platform) {
			if err := p.Scale("f", 1); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			p := startWith(t, Config{Log: &logs}, Function{Name: "f", Args: []string{"--work=20ms"}, ContainerConcurrency: 4,
				Settings: map[string]string{"min-scale": "2", "max-scale": "2"}})
			waitReady(t, p, "f", 2)
			stop := make(chan struct{})
			res := make(chan *tally)
			go func() { res <- load(p.URL()+"/", 6, stop) }()
			time.Sleep(400 * time.Millisecond)
			tc.fault(t, p)
			time.Sleep(800 * time.Millisecond)
			close(stop)
			tl := <-res
			if len(tl.transport) > 0 {
				t.Fatalf("%d requests vanished without an answer: %v", len(tl.transport), tl.transport[0])
			}
			var answered, failed int
			for code, n := range tl.codes {
				answered += n
				if code != 200 {
					failed += n
				}
			}
			if answered != tl.sent || tl.count(200) < 20 {
				t.Fatalf("sent %d, answered %d (%v)", tl.sent, answered, tl.codes)
			}
			if failed != tl.explained {
				t.Fatalf("%d failures, %d of them with an error kind: %v", failed, tl.explained, tl.codes)
			}
			var counted int64
			for _, n := range p.Errors("f") {
				counted += n
			}
			if int(counted) != failed {
				t.Fatalf("activator counted %d errors (%v), clients saw %d", counted, p.Errors("f"), failed)
			}
			if !tc.cutAllowed && failed > 0 {
				t.Fatalf("drain cut %d requests: %v", failed, p.Errors("f"))
			}
			if tc.cutAllowed {
				// Killed under load: counted as a crash while serving, in
				// the stats, the metric and the log.
				if st := p.PodStats("f"); st.Crashes != 1 || st.CrashesServing != 1 {
					t.Fatalf("pod stats %+v, want the crash counted, while serving", st)
				}
				if n := counterValue(t, p, "scalebench_pods_crashes_total", "serving"); n != 1 {
					t.Fatalf("scalebench_pods_crashes_total{phase=serving} = %v, want 1", n)
				}
				if log := logs.String(); !strings.Contains(log, "died while serving") || !strings.Contains(log, "signal: killed") {
					t.Fatalf("platform log %q, want the killed pod named with its signal", log)
				}
			}
			t.Logf("sent %d, codes %v, errors %v", tl.sent, tl.codes, p.Errors("f"))
		})
	}
}

func TestCloseLeavesNoChildProcess(t *testing.T) {
	p, err := Start(Config{FnBinary: fnBinary, Functions: []Function{
		{Name: "a", Settings: map[string]string{"min-scale": "2"}},
		{Name: "b", Args: []string{"--init=5s"}, Settings: map[string]string{"min-scale": "1"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, p, "a", 2)
	if n := len(pods.Running(fnBinary)); n != 3 {
		t.Fatalf("%d fn processes, want 3 (2 ready, 1 initialising)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if pids := pods.Running(fnBinary); len(pids) != 0 {
		t.Fatalf("fn processes left after close: %v", pids)
	}
}

func TestStartupPhasesColdFlagAndIdleSeconds(t *testing.T) {
	// Schedule 200ms before exec, then an app init of 100ms inside fn.
	p := start(t, Function{Name: "f", ContainerConcurrency: 1, Seed: 3,
		Startup:  scenarios.Startup{Schedule: dist.Fixed{D: 200 * time.Millisecond}, AppInit: dist.Fixed{D: 100 * time.Millisecond}},
		Settings: map[string]string{"initial-scale": "0", "allow-zero-initial-scale": "true"}})
	get := func() *http.Response {
		t.Helper()
		resp, err := http.Get(p.URL() + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	before := time.Now()
	first := get()
	took := time.Since(before)
	initMs, _ := strconv.ParseFloat(first.Header.Get(loadgen.HeaderInitMs), 64)
	if first.Header.Get(loadgen.HeaderColdStart) != "true" || initMs < 100 {
		t.Fatalf("first request headers %v, want a cold start with init_ms >= 100", first.Header)
	}
	if took < 300*time.Millisecond || took > 5*time.Second {
		t.Fatalf("cold request took %v, want schedule (200ms) + init (100ms) + a little", took)
	}
	st := p.Startups("f")
	if len(st) < 1 || st[0].Exec.Sub(st[0].Created) < 200*time.Millisecond || st[0].Ready.Sub(st[0].Exec) < 100*time.Millisecond {
		t.Fatalf("startups %+v, want exec >= 200ms after creation and ready >= 100ms after exec", st)
	}
	idle0 := p.IdleSeconds("f")
	time.Sleep(300 * time.Millisecond)
	if second := get(); second.Header.Get(loadgen.HeaderColdStart) != "false" {
		t.Fatalf("request to a ready pod marked cold: %v", second.Header)
	}
	if d := p.IdleSeconds("f") - idle0; d < 0.25 || d > 1.5 {
		t.Fatalf("idle seconds grew by %v over a 300ms pause, want about 0.3", d)
	}
}

// syncBuffer is a bytes.Buffer safe for the platform's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// counterValue reads a platform counter with the given phase label.
func counterValue(t *testing.T, p *Platform, name, phase string) float64 {
	t.Helper()
	mfs, err := p.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "phase" && l.GetValue() == phase {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// crashingFunction writes an executable that says why on stderr and exits 3
// at once, as a function with a broken configuration does.
func crashingFunction(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "broken")
	script := "#!/bin/sh\necho 'loading config: /etc/app.yaml: no such file' >&2\nexit 3\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunReportsCrashLoop: pods that die before they are ready are reported
// with their exit status and stderr, in the log and the summary, and the run
// fails. Such a run used to pass with nothing said (77 pod starts, 0 of 50
// requests completed, exit 0).
func TestRunReportsCrashLoop(t *testing.T) {
	pat, err := traffic.Parse("constant:rate=10")
	if err != nil {
		t.Fatal(err)
	}
	sc := &scenarios.Scenario{Name: "crash", Duration: 2 * time.Second, Seed: 1, Traffic: pat,
		Activator: scenarios.Activator{Timeout: time.Second},
		Functions: []scenarios.Function{{Name: "fn", MemoryMB: scenarios.DefaultMemoryMB}}}
	var logs syncBuffer
	res, err := RunScenario(context.Background(), sc, scenarios.Policy{Name: "kpa"},
		RunOptions{FnBinary: crashingFunction(t), Log: &logs, StopTimeout: 5 * time.Second})
	var fail *RunFailure
	if !errors.As(err, &fail) || res == nil {
		t.Fatalf("err %v, result %v; want a RunFailure with the result", err, res)
	}
	if !fail.NoneCompleted || fail.CrashLoop == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("failure %+v (%v), want none completed and a crash loop naming exit status 3", fail, err)
	}
	s := res.Summary
	if s.PodCrashes < crashLoopAfter || len(s.Crashes) == 0 {
		t.Fatalf("pod_crashes %d, crashes %v; want the crash loop counted and reported", s.PodCrashes, s.Crashes)
	}
	c := s.Crashes[0]
	if c.Phase != "starting" || c.Exit != "exit status 3" || !strings.Contains(c.StderrTail, "no such file") {
		t.Fatalf("first crash %+v, want phase starting, exit status 3 and the stderr line", c)
	}
	if log := logs.String(); !strings.Contains(log, "died before it was ready: exit status 3") || !strings.Contains(log, "no such file") {
		t.Fatalf("log %q, want each crash with its exit status and stderr", log)
	}
}

// TestRunReportsInterruption: a run whose context ends (SIGINT, SIGTERM in
// the command) returns its result marked interrupted, and fails.
func TestRunReportsInterruption(t *testing.T) {
	pat, err := traffic.Parse("constant:rate=20")
	if err != nil {
		t.Fatal(err)
	}
	sc := &scenarios.Scenario{Name: "interrupted", Duration: time.Minute, Seed: 1, Traffic: pat,
		Functions: []scenarios.Function{{Name: "fn", MemoryMB: scenarios.DefaultMemoryMB}}}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	began := time.Now()
	res, err := RunScenario(ctx, sc, scenarios.Policy{Name: "kpa"}, RunOptions{FnBinary: fnBinary, StopTimeout: 5 * time.Second})
	var fail *RunFailure
	if !errors.As(err, &fail) || !fail.Interrupted || res == nil {
		t.Fatalf("err %v, result %v; want an interrupted RunFailure with the result", err, res)
	}
	if res.Summary.Aborted != "interrupted" || res.Summary.Completed == 0 {
		t.Fatalf("summary aborted %q, completed %d; want interrupted, with what completed before", res.Summary.Aborted, res.Summary.Completed)
	}
	if took := time.Since(began); took > 20*time.Second {
		t.Fatalf("interrupted run took %v to end", took)
	}
}
