package main

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/scenarios"
)

// TestSimFlagLimits: the flags that build a scenario are held to the
// limits a scenario file is.
func TestSimFlagLimits(t *testing.T) {
	cases := []struct {
		name   string
		change func(*simFlags)
		want   string
	}{
		{"within the limits", func(*simFlags) {}, ""},
		{"--queue-depth -1", func(f *simFlags) { f.queueDepth = -1 }, "activator queue depth"},
		{"--timeout -1s", func(f *simFlags) { f.timeout = -time.Second }, "activator timeout"},
		{"--duration 100000h", func(f *simFlags) { f.duration = 100000 * time.Hour }, "duration: want a duration between 1s and 336h"},
		{"--service fixed:1000000h", func(f *simFlags) { f.service = "fixed:1000000h" }, "function fn: service:"},
		{"--concurrency 100000", func(f *simFlags) { f.concurrency = 100000 }, "containerConcurrency"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fl := simFlags{pattern: "constant:rate=10", duration: 10 * time.Second, service: scenarios.DefaultService,
				startup: "default", readiness: scenarios.DefaultReadinessPeriod}
			tc.change(&fl)
			_, err := simScenario(&cobra.Command{}, &fl)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestRunFlagLimits: run's flags are held to the same limits.
func TestRunFlagLimits(t *testing.T) {
	cases := []struct {
		name   string
		change func(*runFlags)
		want   string
	}{
		{"within the limits", func(*runFlags) {}, ""},
		{"--duration 100000h", func(f *runFlags) { f.duration = 100000 * time.Hour }, "duration: want a duration between 1s and 336h"},
		{"--timeout 2h", func(f *runFlags) { f.timeout = 2 * time.Hour }, "activator timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fl := runFlags{pattern: "constant:rate=10", duration: 10 * time.Second}
			fl.name, fl.initMode, fl.policy = "fn", "sleep", "kpa"
			tc.change(&fl)
			_, _, err := runScenario(&cobra.Command{}, &fl)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
