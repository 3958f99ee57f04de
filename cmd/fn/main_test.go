package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scalebench/scalebench/internal/wire"
)

func TestParseFlags(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"all set", []string{"--init=10ms", "--init-mode=spin", "--work=1ms", "--spin=1ms", "--alloc=10"}, ""},
		{"bad init mode", []string{"--init-mode=nap"}, "--init-mode"},
		{"negative work", []string{"--work=-1s"}, "--work"},
		{"negative alloc", []string{"--alloc=-1"}, "--alloc"},
		// 100 GB per request killed the pod on every request, so a run
		// crash-looped instead of being refused at start.
		{"alloc beyond one request's cap", []string{"--alloc=100000000000"}, "--alloc"},
		{"alloc beyond the budget", []string{"--alloc=2000", "--alloc-budget=1000"}, "--alloc"},
		{"negative budget", []string{"--alloc-budget=-1"}, "--alloc-budget"},
		{"non-loopback addr", []string{"--addr=0.0.0.0:80"}, "loopback"},
		{"stray argument", []string{"x"}, "unexpected argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	c, err := parseFlags([]string{"--instance=i1", "--work=0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(c, 12*time.Millisecond)
	cases := []struct {
		name     string
		target   string
		code     int
		cold     string
		minDelay time.Duration
	}{
		{"probe does not count as first request", "/healthz", 200, "", 0},
		{"first request is cold", "/", 200, "true", 0},
		{"second request is warm and sleeps", "/?work=20ms", 200, "false", 20 * time.Millisecond},
		{"spin and alloc", "/?spin=5ms&alloc=100000", 200, "false", 5 * time.Millisecond},
		{"bad work", "/?work=soon", 400, "", 0},
		{"bad alloc", "/?alloc=-5", 400, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tc.target, nil))
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if got := rec.Header().Get(wire.HeaderColdStart); got != tc.cold {
				t.Fatalf("%s = %q, want %q", wire.HeaderColdStart, got, tc.cold)
			}
			if tc.cold != "" {
				if got := rec.Header().Get(wire.HeaderInstance); got != "i1" {
					t.Fatalf("instance %q", got)
				}
				if got := rec.Header().Get(wire.HeaderInitMs); got != "12.000" {
					t.Fatalf("init ms %q", got)
				}
			}
			if d := time.Since(start); d < tc.minDelay {
				t.Fatalf("took %v, want at least %v", d, tc.minDelay)
			}
		})
	}
}

// TestSpinEndsWithTheRequest: a client that goes away ends the spin; it
// used to keep a core busy for the whole ?spin= (and the pod's drain with it).
func TestSpinEndsWithTheRequest(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(c, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := httptest.NewRequest("GET", "/?spin=20s", nil).WithContext(ctx)
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(httptest.NewRecorder(), req)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("?spin=20s still running 5 s after its request's context ended")
	}
}

// TestAllocBudgetBoundsRequestsInFlight: the memory of the requests in
// flight is bounded in total, not only per request.
func TestAllocBudgetBoundsRequestsInFlight(t *testing.T) {
	c, err := parseFlags([]string{"--alloc-budget=8000000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(c, 0)
	holding := make(chan int, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/?alloc=6000000&work=1s", nil))
		holding <- rec.Code
	}()
	deadline := time.Now().Add(5 * time.Second)
	for h.requests.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/?alloc=6000000", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "budget") {
		t.Fatalf("second 6 MB request with 6 of 8 MB held: %d %q, want 503 naming the budget", rec.Code, rec.Body)
	}
	if code := <-holding; code != 200 {
		t.Fatalf("first request: %d", code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/?alloc=6000000", nil))
	if rec.Code != 200 {
		t.Fatalf("6 MB once the budget is free again: %d %q", rec.Code, rec.Body)
	}
}

// TestServesPORT: under the platform's function contract fn listens on
// 127.0.0.1:$PORT.
func TestServesPORT(t *testing.T) {
	t.Setenv("PORT", "18089")
	c, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:18089" {
		t.Fatalf("addr %q with PORT=18089", c.addr)
	}
	if c, _ = parseFlags([]string{"--addr=127.0.0.1:9"}, io.Discard); c.addr != "127.0.0.1:9" {
		t.Fatalf("--addr given: addr %q", c.addr)
	}
}

// TestProcessDrainsOnSIGTERM runs the real binary: it signals readiness on
// the pipe after its init time, and a request in flight at SIGTERM completes.
func TestProcessDrainsOnSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "fn")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf, _ := ln.(*net.TCPListener).File()
	ln.Close()
	pr, pw, _ := os.Pipe()
	cmd := exec.Command(bin, "--listen-fd=3", "--ready-fd=4", "--init=50ms")
	cmd.ExtraFiles = []*os.File{lf, pw}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	pw.Close()
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("ready line %q, %v", line, err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("ready after %v, before the 50ms init", d)
	}
	url := "http://" + ln.Addr().String()
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Get(url + "/?work=300ms")
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	resp := <-done
	if resp == nil || resp.StatusCode != 200 || resp.Header.Get(wire.HeaderColdStart) != "true" {
		t.Fatalf("in-flight request not completed: %+v", resp)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after drain: %v", err)
	}
}
