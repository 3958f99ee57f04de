package pods

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCommandContract runs fn as a user's function would run: given only
// $PORT, probed over HTTP (aggressively until ready, then every period),
// stopped with SIGTERM.
func TestCommandContract(t *testing.T) {
	cases := []struct {
		name      string
		readiness string
	}{
		{"http probe", "/healthz"},
		{"tcp probe", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var ready []*Pod
			m, err := New(Config{Revision: "c", StopTimeout: 5 * time.Second,
				Command: &Command{Argv: []string{fnBinary, "--init=40ms"}, ReadinessPath: tc.readiness, ProbePeriod: 20 * time.Millisecond},
				OnReady: func(p *Pod) { mu.Lock(); ready = append(ready, p); mu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			m.Scale(1)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := m.Wait(ctx, 1); err != nil {
				t.Fatal(err)
			}
			st := m.Startups()[0]
			switch {
			case st.Ready.Before(st.Listening) || st.Listening.Before(st.Spawned):
				t.Fatalf("spawned %v, listening %v, ready %v: out of order", st.Spawned, st.Listening, st.Ready)
			case tc.readiness != "" && st.Ready.Sub(st.Spawned) < 40*time.Millisecond:
				// fn listens before its init and answers /healthz after
				// it: only the HTTP probe can tell.
				t.Fatalf("ready %v after spawn, before fn's 40 ms init", st.Ready.Sub(st.Spawned))
			case tc.readiness == "" && !st.Ready.Equal(st.Listening):
				t.Fatalf("tcp probe: listening %v and ready %v differ", st.Listening, st.Ready)
			}
			mu.Lock()
			p := ready[0]
			mu.Unlock()
			resp, err := http.Get("http://" + p.Addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			time.Sleep(100 * time.Millisecond) // periodic probes meanwhile keep it ready
			if r, _ := m.Counts(); r != 1 {
				t.Fatalf("%d ready after periodic probes, want 1", r)
			}
			began := time.Now()
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(began); took > 3*time.Second {
				t.Fatalf("SIGTERM stop took %v", took)
			}
			if left := Running(fnBinary); len(left) > 0 {
				t.Fatalf("processes left: %v", left)
			}
		})
	}
}

// TestCommandKilledAfterGracePeriod: a function that ignores SIGTERM is
// killed once the termination grace period (StopTimeout) is over.
func TestCommandKilledAfterGracePeriod(t *testing.T) {
	var out strings.Builder
	m, err := New(Config{Revision: "stubborn", StopTimeout: 300 * time.Millisecond, Output: &syncWriter{w: &out},
		Command: &Command{Argv: []string{"/bin/sh", "-c", "trap '' TERM; echo started >&2; while :; do sleep 0.05; done"}}})
	if err != nil {
		t.Fatal(err)
	}
	m.Scale(1)
	deadline := time.Now().Add(5 * time.Second)
	for len(m.Pods()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	began := time.Now()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 300*time.Millisecond || took > 3*time.Second {
		t.Fatalf("stop took %v, want the 300 ms grace period then SIGKILL", took)
	}
	if st := m.Stats(); st.Crashes != 0 {
		t.Fatalf("stats %+v: a pod killed on purpose is no crash", st)
	}
}

// TestCommandRejectsMissingProgram: a command that is not there is refused
// when the manager is made, not retried forever.
func TestCommandRejectsMissingProgram(t *testing.T) {
	if _, err := New(Config{Command: &Command{Argv: []string{"/no/such/server"}}}); err == nil {
		t.Fatal("missing program accepted")
	}
	if _, err := New(Config{Command: &Command{}}); err == nil {
		t.Fatal("empty command accepted")
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
