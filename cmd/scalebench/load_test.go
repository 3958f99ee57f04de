package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/scalebench/scalebench/results"
)

// runLoadCmd runs scalebench with args in process, on a fresh root
// command as main builds it.
func runLoadCmd(t *testing.T, args ...string) error {
	t.Helper()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	return root.Execute()
}

func TestLoadCommandExitStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	defer failing.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // nothing listens there any more
	out := filepath.Join(t.TempDir(), "out")
	for _, tc := range []struct {
		name string
		args []string
		code int // 0 = success
	}{
		{"ok", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=20", "--duration", "200ms", "--out", out}, 0},
		{"ok through net/http", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=20", "--duration", "200ms", "--std-transport", "--out", out + "2"}, 0},
		{"a target answering 500 was reached", []string{"load", "--target", failing.URL, "--pattern", "constant:rate=20", "--duration", "200ms", "--out", out + "3"}, 0},
		{"dead target", []string{"load", "--target", deadURL, "--pattern", "constant:rate=20", "--duration", "200ms", "--out", out + "4"}, 1},
		{"no target", []string{"load", "--pattern", "constant:rate=1", "--duration", "1s", "--out", out}, 2},
		{"no out", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=1", "--duration", "1s"}, 2},
		{"bad pattern", []string{"load", "--target", srv.URL, "--pattern", "zigzag:rate=1", "--duration", "1s", "--out", out}, 2},
		{"bad duration", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=1", "--duration", "soon", "--out", out}, 2},
		{"zero duration", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=1", "--out", out}, 2},
		{"remote target", []string{"load", "--target", "http://192.0.2.1/", "--pattern", "constant:rate=1", "--duration", "1s", "--out", out}, 2},
		{"bad url", []string{"load", "--target", "127.0.0.1:80", "--pattern", "constant:rate=1", "--duration", "1s", "--out", out}, 2},
		{"name without scenario", []string{"load", "--target", "api=" + srv.URL, "--pattern", "constant:rate=1", "--duration", "1s", "--out", out}, 2},
		{"pattern and scenario", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=1", "--scenario", "x.yaml", "--duration", "1s", "--out", out}, 2},
		{"missing scenario", []string{"load", "--target", srv.URL, "--scenario", filepath.Join(t.TempDir(), "none.yaml"), "--out", out}, 2},
		{"unknown flag", []string{"load", "--target", srv.URL, "--rate", "5"}, 2},
		{"method with a space", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=20", "--duration", "200ms", "--method", "GE T", "--out", out + "5"}, 2},
		{"rate no machine can send", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=1e9", "--duration", "3s", "--out", out + "6"}, 2},
		{"more workers than descriptors", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=20", "--duration", "200ms", "--max-workers", "1000000000", "--out", out + "7"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runLoadCmd(t, tc.args...)
			if code := exitCode(err); code != tc.code {
				t.Errorf("exit %d (%v), want %d", code, err, tc.code)
			}
		})
	}
}

// The --scenario form end to end: a scenario whose trace has two functions,
// each mapped to its own server with --target name=URL (or by the bare
// fallback), and each server receives exactly its function's requests.
func TestLoadScenarioTargets(t *testing.T) {
	dir := t.TempDir()
	// Azure 2021 rows: app,func,end_timestamp,duration (s). 12 requests for
	// api and 6 for thumb, arrivals spread over 9 s, replayed 10x faster.
	var trace strings.Builder
	trace.WriteString("app,func,end_timestamp,duration\n")
	for i := 0; i < 18; i++ {
		fn := "api"
		if i%3 == 2 {
			fn = "thumb"
		}
		fmt.Fprintf(&trace, "app1,%s,%.3f,0.010\n", fn, 0.5*float64(i)+0.010)
	}
	if err := os.WriteFile(filepath.Join(dir, "trace.csv"), []byte(trace.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	scenario := `name: two
duration: 2s
seed: 1
functions:
  - name: api
  - name: thumb
traffic:
  trace:
    format: azure2021
    path: trace.csv
    options:
      compress: "10"
`
	file := filepath.Join(dir, "two.yaml")
	if err := os.WriteFile(file, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]int{}
	server := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			mu.Lock()
			got[name]++
			mu.Unlock()
		}))
		t.Cleanup(s.Close)
		return s
	}
	a, b := server("a"), server("b")
	for _, tc := range []struct {
		name    string
		targets []string
	}{
		{"named", []string{"--target", "api=" + a.URL, "--target", "thumb=" + b.URL}},
		{"named and bare fallback", []string{"--target", "api=" + a.URL, "--target", b.URL}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			clear(got)
			mu.Unlock()
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"load", "--scenario", file, "--out", out}, tc.targets...)
			if err := runLoadCmd(t, args...); err != nil {
				t.Fatalf("scalebench load: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if got["a"] != 12 || got["b"] != 6 {
				t.Errorf("servers got %v, want a:12 b:6", got)
			}
			sum, err := results.ReadSummary(filepath.Join(out, "summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			if sum.Requests != 18 || sum.Completed != 18 || sum.Scenario != "two" {
				t.Errorf("summary: scenario %q requests %d completed %d, want two 18 18", sum.Scenario, sum.Requests, sum.Completed)
			}
			for _, f := range []string{"requests.csv", "timeseries.csv"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
