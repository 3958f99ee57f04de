package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/results"
)

const minimal = `
name: t
duration: 1m
traffic: constant:rate=10
`

func TestParseDefaults(t *testing.T) {
	s, err := Parse("t.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if s.Duration != time.Minute || s.Seed != DefaultSeed {
		t.Errorf("duration %s seed %d, want 1m and %d", s.Duration, s.Seed, DefaultSeed)
	}
	if len(s.Functions) != 1 {
		t.Fatalf("got %d functions, want the one default", len(s.Functions))
	}
	f := s.Functions[0]
	if f.ContainerConcurrency != 0 || f.MemoryMB != DefaultMemoryMB || f.Service.Mean() != 100*time.Millisecond {
		t.Errorf("default function %+v", f)
	}
	var cold time.Duration
	for _, d := range []interface{ Mean() time.Duration }{f.Startup.Schedule, f.Startup.ContainerStart, f.Startup.AppInit} {
		cold += d.Mean()
	}
	if cold < time.Second || cold > 2*time.Second {
		t.Errorf("default cold start mean %s, want a realistic 1-2s", cold)
	}
	if len(s.Policies) != len(DefaultPolicies) || s.Backends[0] != "sim" {
		t.Errorf("policies %v backends %v", s.Policies, s.Backends)
	}
}

func TestParseFull(t *testing.T) {
	src := `
name: full
description: everything set
duration: 90s
seed: 42
functions:
  - name: a
    containerConcurrency: 5
    memoryMB: 512
    service: exp:mean=20ms
    startup:
      schedule: fixed:10ms
      imagePull: none
      containerStart: fixed:200ms
      appInit: fixed:300ms
      readinessPeriod: 1s
traffic:
  pattern: constant:rate=5
policies:
  - kpa
  - name: knative
    label: knative-30s
    settings:
      stable-window: 30s
backends: [sim, local]
activator:
  queueDepth: 50
  timeout: 10s
slos:
  - p99<=300ms
  - metric: cold_start_ratio
    max: 0.01
`
	s, err := Parse("full.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	f := s.Functions[0]
	if f.Name != "a" || f.ContainerConcurrency != 5 || f.MemoryMB != 512 || f.Startup.ImagePull != nil ||
		f.Startup.ReadinessPeriod != time.Second || f.Startup.AppInit.Mean() != 300*time.Millisecond {
		t.Errorf("function %+v", f)
	}
	if s.Seed != 42 || s.Duration != 90*time.Second || s.Description != "everything set" {
		t.Errorf("scenario header %+v", s)
	}
	if len(s.Policies) != 2 || s.Policies[1].Label != "knative-30s" || s.Policies[1].Settings["stable-window"] != "30s" || s.Policies[0].Label != "kpa" {
		t.Errorf("policies %+v", s.Policies)
	}
	if s.Activator.QueueDepth != 50 || s.Activator.Timeout != 10*time.Second {
		t.Errorf("activator %+v", s.Activator)
	}
	want := []results.SLO{{Metric: "latency_ms.p99", Max: 300}, {Metric: "cold_start_ratio", Max: 0.01}}
	if len(s.SLOs) != 2 || s.SLOs[0] != want[0] || s.SLOs[1] != want[1] {
		t.Errorf("slos %+v, want %+v", s.SLOs, want)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		// want is the start of the error: file:line: key
		want string
	}{
		{"empty file", ``, "e.yaml: empty file"},
		{"unknown top-level key", "duration: 1m\ntraffic: constant:rate=1\nduraton: 2m\n", "e.yaml:3: duraton: unknown key"},
		{"unknown nested key", "duration: 1m\ntraffic: constant:rate=1\nfunctions:\n  - name: a\n    memory: 5\n", "e.yaml:5: functions[0].memory: unknown key"},
		{"bad duration", "duration: 5 minutes\ntraffic: constant:rate=1\n", "e.yaml:1: duration: want a duration"},
		{"bare number duration", "duration: 300\ntraffic: constant:rate=1\n", "e.yaml:1: duration: want a duration"},
		{"missing duration", "traffic: constant:rate=1\n", "e.yaml:1: duration: missing"},
		{"missing traffic", "duration: 1m\n", "e.yaml:1: traffic: missing"},
		{"negative concurrency", "duration: 1m\ntraffic: constant:rate=1\nfunctions:\n  - name: a\n    containerConcurrency: -1\n", "e.yaml:5: functions[0].containerConcurrency: want an integer >= 0"},
		{"bad distribution", "duration: 1m\ntraffic: constant:rate=1\nfunctions:\n  - name: a\n    service: gauss:1\n", "e.yaml:5: functions[0].service:"},
		{"bad traffic spec", "duration: 1m\ntraffic: wobble:rate=1\n", "e.yaml:2: traffic:"},
		{"unknown policy", "duration: 1m\ntraffic: constant:rate=1\npolicies: [nope]\n", "e.yaml:3: policies[0]: unknown policy"},
		{"bad policy setting", "duration: 1m\ntraffic: constant:rate=1\npolicies:\n  - name: kpa\n    settings: {stable-window: soon}\n", "e.yaml:5: policies[0].settings.stable-window: setting stable-window"},
		{"unknown policy setting", "duration: 1m\ntraffic: constant:rate=1\npolicies:\n  - name: openfaas-pro\n    settings:\n      type: capacity\n      tagret: \"10\"\n", "e.yaml:7: policies[0].settings.tagret: policy openfaas-pro has no setting \"tagret\""},
		{"settings wrong only together", "duration: 1m\ntraffic: constant:rate=1\npolicies:\n  - name: kpa\n    settings:\n      min-scale: \"5\"\n      max-scale: \"2\"\n", "e.yaml:4: policies[0]: policy kpa: need 0 <= min-scale <= max-scale"},
		{"duplicate label", "duration: 1m\ntraffic: constant:rate=1\npolicies: [kpa, kpa]\n", "e.yaml:3: policies[1].label: label \"kpa\" used twice"},
		{"unknown backend", "duration: 1m\ntraffic: constant:rate=1\nbackends: [mars]\n", "e.yaml:3: backends[0]: unknown backend"},
		{"bad slo", "duration: 1m\ntraffic: constant:rate=1\nslos: ['p99>300ms']\n", "e.yaml:3: slos[0]: SLO"},
		{"duplicate key", "duration: 1m\nduration: 2m\ntraffic: constant:rate=1\n", "e.yaml:2: duration: key given twice"},
		{"syntax error", "duration: [1m\n", "e.yaml:"},
		{"not a mapping", "- a\n- b\n", "e.yaml:1: want a mapping"},
		{"pattern and trace", "duration: 1m\ntraffic:\n  pattern: constant:rate=1\n  trace:\n    format: sparse\n", "e.yaml:5: traffic.trace: give either"},
		{"duplicate function", "duration: 1m\ntraffic: constant:rate=1\nfunctions:\n  - name: a\n  - name: a\n", "e.yaml:5: functions[1].name: function \"a\" given twice"},
		{"alias", "duration: &d 1m\ntraffic: constant:rate=1\n", "e.yaml:1: YAML anchors"},
		{"two documents", "duration: 1m\ntraffic: constant:rate=1\n---\nname: b\n", "e.yaml:3: more than one YAML document"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("e.yaml", []byte(c.src))
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			var pe *badinput.Error
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *badinput.Error", err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error %q\nwant prefix %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines; want one line", err)
			}
		})
	}
}

// TestLibrary loads every shipped scenario: a broken library file would
// otherwise surface only when a user runs make bench.
func TestLibrary(t *testing.T) {
	files, err := filepath.Glob("library/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Errorf("library has %d scenarios, want at least 8", len(files))
	}
	names := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(strings.Fields(s.Description)) < 8 {
				t.Errorf("description %q: want a sentence on what the scenario tests", s.Description)
			}
			if names[s.Name] {
				t.Errorf("scenario name %q used twice", s.Name)
			}
			names[s.Name] = true
			if s.Traffic.Rate(s.Duration/2) <= 0 && s.Traffic.Rate(0) <= 0 {
				t.Errorf("traffic %s has no planned rate", s.Traffic)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"))
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Fatalf("error %v, want one naming the file", err)
	}
	if _, statErr := os.Stat("absent.yaml"); statErr == nil {
		t.Fatal("Load created a file")
	}
}

// TestSchemaExample parses the annotated example at the top of SCHEMA.md,
// so the documentation shows only what the parser accepts (its spike used
// for=, which the pattern parser refuses).
func TestSchemaExample(t *testing.T) {
	doc, err := os.ReadFile("SCHEMA.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("SCHEMA.md has no ```yaml example")
	}
	if _, err := Parse("SCHEMA.md", []byte(example)); err != nil {
		t.Errorf("SCHEMA.md's example does not parse: %v", err)
	}
}

// TestAzure2019OptionKeys wants a bad trace option reported under its own
// key (a negative firstMinute was reported as "minutes").
func TestAzure2019OptionKeys(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/invocations.csv", []byte("HashOwner,HashApp,HashFunction,Trigger,1,2,3\no,a,f,http,1,2,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, option, want string }{
		{"negative firstMinute", `firstMinute: "-5"`, "firstMinute: want a non-negative minute, got -5"},
		{"negative minutes", `minutes: -1`, "minutes: want a non-negative count, got -1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := "duration: 1m\ntraffic:\n  trace:\n    format: azure2019\n    path: " + dir + "\n    options:\n      " + tc.option + "\n"
			_, err := Parse("t.yaml", []byte(doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
