package queueproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// SidecarConfig is a queue-proxy running as a process of its own, the way it
// runs in a container on a real cluster (kind): in front of the function in
// the same pod, or, with Command, as the pod's entrypoint that also starts
// and supervises the function (the watchdog shape an OpenFaaS function has,
// where a pod has one container).
type SidecarConfig struct {
	// Pod names the pod for the metrics' "pod" label.
	Pod string
	// Listen is where requests arrive (the pod's port); MetricsListen
	// serves /metrics for the controller's scrape and the metrics adapter.
	Listen, MetricsListen string
	// Upstream is the function's host:port, on the pod's loopback.
	Upstream string
	// ContainerConcurrency and QueueDepth are as in Config.
	ContainerConcurrency, QueueDepth int
	// Command, when set, is the function: started at once, and the sidecar
	// exits when it does.
	Command []string
	// Grace is how long in-flight requests and then the function get to
	// finish on shutdown (the pod's termination grace period).
	Grace time.Duration
	// Log receives one line per lifecycle event; nil discards them.
	Log io.Writer
}

// RunSidecar serves until ctx ends (SIGTERM) or the function exits. It
// answers /healthz with 200 once the function accepts connections (the
// readiness probe), holds requests that arrive before that (they are cold
// starts), collects the per-second metrics, and on shutdown fails readiness,
// drains in-flight requests, then stops the function with SIGTERM and,
// after Grace, SIGKILL.
func RunSidecar(ctx context.Context, cfg SidecarConfig) error {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 30 * time.Second
	}
	if _, _, err := net.SplitHostPort(cfg.Upstream); err != nil {
		return fmt.Errorf("queue-proxy: --upstream: want host:port, got %q", cfg.Upstream)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("queue-proxy: listen %s: %w", cfg.Listen, err)
	}
	mln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		ln.Close()
		return fmt.Errorf("queue-proxy: metrics listen %s: %w", cfg.MetricsListen, err)
	}
	proxy, err := New(Config{Pod: cfg.Pod, Addr: cfg.Upstream, ContainerConcurrency: cfg.ContainerConcurrency, QueueDepth: cfg.QueueDepth})
	if err != nil {
		ln.Close()
		mln.Close()
		return err
	}

	var child *exec.Cmd
	exited := make(chan error, 1)
	if len(cfg.Command) > 0 {
		child = exec.Command(cfg.Command[0], cfg.Command[1:]...)
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := child.Start(); err != nil {
			ln.Close()
			mln.Close()
			return fmt.Errorf("queue-proxy: start the function: %w", err)
		}
		fmt.Fprintf(cfg.Log, "queue-proxy %s: started the function (pid %d): %v\n", cfg.Pod, child.Process.Pid, cfg.Command)
		go func() { exited <- child.Wait() }()
	}

	var ready, stopping atomic.Bool
	readyCh := make(chan struct{})
	started := time.Now()
	go func() {
		for !stopping.Load() {
			c, err := net.DialTimeout("tcp", cfg.Upstream, 100*time.Millisecond)
			if err == nil {
				c.Close()
				// The proxy's readiness is now: requests that arrived
				// before it are the cold starts.
				proxy.ready = time.Now()
				ready.Store(true)
				close(readyCh)
				fmt.Fprintf(cfg.Log, "queue-proxy %s: function ready after %s\n", cfg.Pod, time.Since(started).Round(time.Millisecond))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if ready.Load() && !stopping.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		arrival := time.Now()
		select {
		case <-readyCh:
		case <-r.Context().Done():
			return
		}
		proxy.ServeHTTP(w, r.WithContext(WithArrival(r.Context(), arrival)))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	mmux := http.NewServeMux()
	mmux.Handle("/metrics", promhttp.HandlerFor(proxy.Registry(), promhttp.HandlerOpts{}))
	msrv := &http.Server{Handler: mmux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	go msrv.Serve(mln)

	collect := time.NewTicker(time.Second)
	defer collect.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-exited:
			runErr = fmt.Errorf("queue-proxy %s: the function exited: %v", cfg.Pod, err)
			child = nil
			break loop
		case now := <-collect.C:
			if ready.Load() {
				proxy.Collect(now)
			}
		}
	}

	stopping.Store(true)
	fmt.Fprintf(cfg.Log, "queue-proxy %s: stopping\n", cfg.Pod)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && runErr == nil {
		runErr = fmt.Errorf("queue-proxy %s: drain: %w", cfg.Pod, err)
	}
	msrv.Close()
	if child != nil {
		syscall.Kill(-child.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-sctx.Done():
			syscall.Kill(-child.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	return runErr
}

// WatchdogEnv reads a function's command and concurrency limit the way
// OpenFaaS's of-watchdog does, from the environment variables fprocess (the
// command line, split on white space) and max_inflight (0 or unset =
// unlimited). OpenFaaS's REST API sets these, and no container command.
func WatchdogEnv(getenv func(string) string) ([]string, int, error) {
	cmd := strings.Fields(getenv("fprocess"))
	if len(cmd) == 0 {
		return nil, 0, errors.New("queue-proxy: $fprocess is empty: it names the function's command")
	}
	cc := 0
	if v := strings.TrimSpace(getenv("max_inflight")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, 0, fmt.Errorf("queue-proxy: $max_inflight: want a whole number >= 0, got %q", v)
		}
		cc = n
	}
	return cmd, cc, nil
}
