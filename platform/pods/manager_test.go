package pods

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var fnBinary string

// TestMain builds cmd/fn once for the package's tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pods-test-")
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

func TestNewRejectsBadBinary(t *testing.T) {
	cases := []struct {
		name   string
		binary string
	}{
		{"empty", ""},
		{"missing", "/nonexistent/fn"},
		{"directory", os.TempDir()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(Config{Binary: tc.binary}); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

func TestScaleUpDownAndClose(t *testing.T) {
	var readies, gones atomic.Int64
	m, err := New(Config{Revision: "t", Binary: fnBinary, Args: []string{"--init=20ms"},
		OnReady: func(*Pod) { readies.Add(1) }, OnGone: func(*Pod) { gones.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		desired int
	}{
		{"up to two", 2},
		{"up to three", 3},
		{"down to one", 1},
		{"down to zero", 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := m.Scale(st.desired); err != nil {
				t.Fatal(err)
			}
			if err := m.Wait(ctx(t, 10*time.Second), st.desired); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(m.Pods()) != st.desired && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if r, nr := m.Counts(); r != st.desired || nr != 0 || len(m.Pods()) != st.desired {
				t.Fatalf("ready %d, starting %d, live %d; want %d ready", r, nr, len(m.Pods()), st.desired)
			}
			for _, p := range m.Pods() {
				resp, err := http.Get("http://" + p.Addr + "/")
				if err != nil {
					t.Fatalf("ready pod %s does not serve: %v", p.Name, err)
				}
				resp.Body.Close()
			}
		})
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	s := m.Stats()
	if s.Starts != 3 || s.MaxPods != 3 || s.Crashes != 0 || readies.Load() != 3 || gones.Load() != 3 {
		t.Fatalf("stats %+v, ready hooks %d, gone hooks %d; want 3 starts, 3 max, 0 crashes", s, readies.Load(), gones.Load())
	}
	if s.PodSeconds <= 0 {
		t.Fatalf("pod seconds %v", s.PodSeconds)
	}
	if err := m.Scale(1); err == nil {
		t.Fatal("scale after close must fail")
	}
}

func TestCrashedPodIsReplaced(t *testing.T) {
	m, err := New(Config{Revision: "crash", Binary: fnBinary})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Scale(1)
	if err := m.Wait(ctx(t, 10*time.Second), 1); err != nil {
		t.Fatal(err)
	}
	victim := m.Pods()[0]
	syscall.Kill(victim.PID(), syscall.SIGKILL)
	<-victim.Done()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ps := m.Pods()
		if r, _ := m.Counts(); r == 1 && len(ps) == 1 && ps[0] != victim {
			if s := m.Stats(); s.Crashes != 1 || s.Starts != 2 {
				t.Fatalf("stats %+v, want 1 crash and 2 starts", s)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("crashed pod was not replaced")
}

func TestCloseLeavesNoProcess(t *testing.T) {
	m, err := New(Config{Revision: "orphans", Binary: fnBinary, Args: []string{"--init=2s"}})
	if err != nil {
		t.Fatal(err)
	}
	m.Scale(2)
	// Close while the pods are still initialising as well as serving ones.
	deadline := time.Now().Add(5 * time.Second)
	for len(Running(fnBinary)) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(Running(fnBinary)); n < 2 {
		t.Fatalf("%d fn processes running, want 2 before close", n)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if pids := Running(fnBinary); len(pids) != 0 {
		t.Fatalf("fn processes left after close: %v", pids)
	}
}

func TestBrokenBinaryBacksOff(t *testing.T) {
	m, err := New(Config{Revision: "broken", Binary: fnBinary, Args: []string{"--init-mode=bogus"}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Scale(1)
	time.Sleep(700 * time.Millisecond)
	s := m.Stats()
	// Backoff doubles from 100ms: about 4 attempts in 700ms, not hundreds.
	if s.Starts < 2 || s.Starts > 8 {
		t.Fatalf("%d starts of a failing pod in 700ms, want a few (backoff)", s.Starts)
	}
}

func TestStartupDelayPrecedesExec(t *testing.T) {
	cases := []struct {
		name string
		// stopEarly scales back to zero while the pod waits out its delay.
		stopEarly bool
	}{
		{"delay then ready", false},
		{"stopped during the delay is never exec'd", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var gones atomic.Int64
			m, err := New(Config{Revision: "d", Binary: fnBinary,
				Prepare: func() Launch { return Launch{Delay: 300 * time.Millisecond, Args: []string{"--init=50ms"}} },
				OnGone:  func(*Pod) { gones.Add(1) }})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			m.Scale(1)
			time.Sleep(100 * time.Millisecond)
			if r, nr := m.Counts(); r != 0 || nr != 1 || len(m.Pods()) != 0 {
				t.Fatalf("during the delay: ready %d, starting %d, with a process %d; want 0, 1, 0", r, nr, len(m.Pods()))
			}
			if tc.stopEarly {
				m.Scale(0)
				deadline := time.Now().Add(5 * time.Second)
				for gones.Load() == 0 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				time.Sleep(300 * time.Millisecond) // past the delay: nothing may start now
				if gones.Load() != 1 || len(Running(fnBinary)) != 0 || len(m.Startups()) != 0 {
					t.Fatalf("gone hooks %d, processes %v, startups %d; want 1, none, 0", gones.Load(), Running(fnBinary), len(m.Startups()))
				}
				return
			}
			if err := m.Wait(ctx(t, 10*time.Second), 1); err != nil {
				t.Fatal(err)
			}
			st := m.Startups()
			if len(st) != 1 {
				t.Fatalf("startups %+v, want one", st)
			}
			if d := st[0].Exec.Sub(st[0].Created); d < 300*time.Millisecond || d > time.Second {
				t.Fatalf("exec %v after creation, want the 300ms delay", d)
			}
			if d := st[0].Ready.Sub(st[0].Exec); d < 50*time.Millisecond || d > 3*time.Second {
				t.Fatalf("ready %v after exec, want at least the 50ms --init", d)
			}
		})
	}
}

// TestScaleDownStopsTheLeastBusy: with InFlight, a scale-down picks its
// victims in autoscaler.ScaleDownOrder, as the simulator does: the idle
// pods go, the busy one stays, and among idle ones the newest goes first.
func TestScaleDownStopsTheLeastBusy(t *testing.T) {
	busy := "order-1" // the oldest pod serves requests
	m, err := New(Config{Revision: "order", Binary: fnBinary, InFlight: func(p *Pod) int {
		if p.Name == busy {
			return 3
		}
		return 0
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	names := func() map[string]bool {
		out := map[string]bool{}
		for _, p := range m.Pods() {
			out[p.Name] = true
		}
		return out
	}
	steps := []struct {
		name    string
		desired int
		want    []string
	}{
		{"up to three", 3, []string{"order-1", "order-2", "order-3"}},
		{"down to two: the newest idle pod goes", 2, []string{"order-1", "order-2"}},
		{"down to one: the busy pod stays", 1, []string{"order-1"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := m.Scale(st.desired); err != nil {
				t.Fatal(err)
			}
			if err := m.Wait(ctx(t, 10*time.Second), st.desired); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(m.Pods()) != st.desired && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			got := names()
			for _, n := range st.want {
				if !got[n] {
					t.Fatalf("pods %v, want %v", got, st.want)
				}
			}
			if len(got) != len(st.want) {
				t.Fatalf("pods %v, want %v", got, st.want)
			}
		})
	}
}
