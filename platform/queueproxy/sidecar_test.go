package queueproxy

import (
	"context"
	"io"
	"net"
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

	"github.com/scalebench/scalebench/loadgen"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func buildFn(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fn")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/scalebench/scalebench/cmd/fn").CombinedOutput(); err != nil {
		t.Fatalf("build fn: %v\n%s", err, out)
	}
	return bin
}

// TestSidecarWatchdog runs the queue-proxy as a pod's entrypoint: it starts
// fn, holds a request that arrives during fn's init and marks it cold, turns
// ready, exports metrics, and on SIGTERM drains and stops fn.
func TestSidecarWatchdog(t *testing.T) {
	fn := buildFn(t)
	listen, metrics, upstream := freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- RunSidecar(ctx, SidecarConfig{
			Pod: "p1", Listen: listen, MetricsListen: metrics, Upstream: upstream,
			ContainerConcurrency: 1, QueueDepth: 10, Grace: 5 * time.Second,
			Command: []string{fn, "--addr", upstream, "--init", "300ms", "--instance", "p1"},
		})
	}()

	get := func(path string) (*http.Response, error) {
		c := &http.Client{Timeout: 5 * time.Second}
		return c.Get("http://" + listen + path)
	}
	// Wait for the sidecar to listen; fn is still initialising.
	deadline := time.Now().Add(5 * time.Second)
	var resp *http.Response
	var err error
	for time.Now().Before(deadline) {
		if resp, err = get("/healthz"); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("sidecar never listened: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/healthz during fn's init = %d, want 503", resp.StatusCode)
	}

	// A request sent now waits for fn and is a cold start.
	cold, err := get("/?work=10ms")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, cold.Body)
	cold.Body.Close()
	if cold.StatusCode != 200 || cold.Header.Get(loadgen.HeaderColdStart) != "true" {
		t.Fatalf("first request: status %d, %s=%q; want 200 and a cold start", cold.StatusCode, loadgen.HeaderColdStart, cold.Header.Get(loadgen.HeaderColdStart))
	}
	if resp, err = get("/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz after init: %v %v", resp, err)
	}
	resp.Body.Close()

	// Warm requests, some concurrent (containerConcurrency 1 queues them).
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := get("/?work=50ms")
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
			if r.Header.Get(loadgen.HeaderColdStart) != "false" {
				t.Errorf("warm request marked %q", r.Header.Get(loadgen.HeaderColdStart))
			}
		}()
	}
	wg.Wait()
	mresp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(body), `scalebench_queueproxy_requests_total{pod="p1"} 5`) {
		t.Errorf("metrics do not count the 5 requests:\n%s", body)
	}

	// SIGTERM: the sidecar drains and stops fn; no fn is left.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sidecar did not stop")
	}
	for _, pid := range runningBinary(fn) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("fn (pid %d) outlived its sidecar", pid)
	}
}

// TestSidecarExitsWithItsFunction: a function that dies takes the pod down
// (the container restarts, as restartPolicy says), with the reason.
func TestSidecarExitsWithItsFunction(t *testing.T) {
	err := RunSidecar(context.Background(), SidecarConfig{
		Pod: "p2", Listen: freeAddr(t), MetricsListen: freeAddr(t), Upstream: freeAddr(t),
		Command: []string{"/bin/false"},
	})
	if err == nil || !strings.Contains(err.Error(), "the function exited") {
		t.Fatalf("err = %v, want the function's exit", err)
	}
}

func runningBinary(bin string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if pid, perr := strconv.Atoi(e.Name()); err == nil && perr == nil && exe == bin {
			pids = append(pids, pid)
		}
	}
	return pids
}
