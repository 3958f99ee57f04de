package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scalebench/scalebench/results"
)

// TestRunExitStatus runs the built command: a run that was interrupted, or
// in which nothing completed because the pods crash-looped, still writes its
// summary but exits non-zero, saying why on stderr. Both used to exit 0.
func TestRunExitStatus(t *testing.T) {
	dir := buildFn(t, true)
	cases := []struct {
		name      string
		args      []string
		interrupt bool
		stderr    []string
		check     func(t *testing.T, s *results.Summary)
	}{
		{"crash-looping pods", []string{"--fn-binary", "/bin/false", "--duration", "3s", "--timeout", "1s"}, false,
			[]string{"crash-looped", "exit status 1", "none of"},
			func(t *testing.T, s *results.Summary) {
				if s.Completed != 0 || s.PodCrashes < 3 || len(s.Crashes) == 0 || s.Crashes[0].Exit != "exit status 1" {
					t.Fatalf("completed %d, pod_crashes %d, crashes %+v", s.Completed, s.PodCrashes, s.Crashes)
				}
			}},
		{"SIGINT", []string{"--fn-binary", filepath.Join(dir, "fn"), "--duration", "1m"}, true,
			[]string{"interrupted"},
			func(t *testing.T, s *results.Summary) {
				if s.Aborted != "interrupted" {
					t.Fatalf("aborted %q, want interrupted", s.Aborted)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"run", "--pattern", "constant:rate=10", "--policy", "kpa", "--out", out}, tc.args...)
			cmd := exec.Command(filepath.Join(dir, "scalebench"), args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if tc.interrupt {
				time.Sleep(2 * time.Second)
				cmd.Process.Signal(syscall.SIGINT)
			}
			timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
			err := cmd.Wait()
			timer.Stop()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit %v, want status 1; stderr:\n%s", err, stderr.String())
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Fatalf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			b, err := os.ReadFile(filepath.Join(out, "summary.json"))
			if err != nil {
				t.Fatalf("summary not written: %v", err)
			}
			var s results.Summary
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			tc.check(t, &s)
		})
	}
}
