package scenarios

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/badinput"
)

const revisionsScenario = `
duration: 10m
functions:
  - name: api
    containerConcurrency: 10
    service: fixed:50ms
    revisions:
      - name: v1
      - name: v2
        service: fixed:30ms
        containerConcurrency: 20
        startup: {appInit: fixed:2s}
        settings: {target: "50"}
        tag: canary
        tagTraffic: constant:rate=1
    split:
      - {at: 1m, percent: {v1: 90, v2: 10}}
      - {at: 3m, rollout: v2, duration: 5m}
traffic: constant:rate=100
policies: [knative]
rollouts:
  - name: instant
  - name: prescaled
    initialScale: match
    minScale: 3
`

func TestParseRevisions(t *testing.T) {
	s, err := Parse("r.yaml", []byte(revisionsScenario))
	if err != nil {
		t.Fatal(err)
	}
	f := s.Functions[0]
	if len(f.Revisions) != 2 {
		t.Fatalf("got %d revisions, want 2", len(f.Revisions))
	}
	v1, v2 := f.Revisions[0], f.Revisions[1]
	if v1.Service.Mean() != 50*time.Millisecond || v1.ContainerConcurrency != 10 {
		t.Errorf("v1 did not inherit the function's workload: %+v", v1.Function)
	}
	if v2.Service.Mean() != 30*time.Millisecond || v2.ContainerConcurrency != 20 || v2.Startup.AppInit.Mean() != 2*time.Second {
		t.Errorf("v2 did not take its own workload: %+v", v2.Function)
	}
	if v2.Startup.ContainerStart == nil {
		t.Errorf("v2 lost the phases it did not override")
	}
	if v2.Settings["target"] != "50" || v2.Tag != "canary" || v2.TagTraffic == nil {
		t.Errorf("v2 settings %v tag %q", v2.Settings, v2.Tag)
	}
	if v1.DeployAt != 0 || v2.DeployAt != time.Minute {
		t.Errorf("deployed at %s and %s, want 0 and 1m (its first traffic)", v1.DeployAt, v2.DeployAt)
	}
	if len(f.Split) != 3 || f.Split[0].Percent[0] != 100 || f.Split[1].Percent[1] != 10 ||
		f.Split[2].Rollout != 1 || f.Split[2].RolloutDuration != 5*time.Minute {
		t.Errorf("split %+v", f.Split)
	}
	var labels []string
	for _, p := range s.Policies {
		labels = append(labels, p.Label)
	}
	if got := strings.Join(labels, " "); got != "knative/instant knative/prescaled" {
		t.Errorf("policies %s, want knative/instant knative/prescaled", got)
	}
	if r := s.Policies[1].Rollout; r == nil || !r.MatchInitialScale || r.MinScale != 3 {
		t.Errorf("prescaled rollout %+v", r)
	}
	want := "api: revisions v1, v2 (tag canary, created at 1m); at 1m v1 90%, v2 10%; at 3m roll out to v2 over 5m"
	if got := DescribeRevisions(f); got != want {
		t.Errorf("DescribeRevisions:\n got %q\nwant %q", got, want)
	}
}

// TestParseRevisionsOnEveryBackend: the simulator, the local platform and
// the kubernetes backend all route by the split.
func TestParseRevisionsOnEveryBackend(t *testing.T) {
	src := "duration: 10m\ntraffic: constant:rate=1\npolicies: [knative]\nfunctions:\n  - name: api\n" +
		"    revisions:\n      - name: v1\n      - name: v2\n    split:\n      - {at: 0s, percent: {v1: 100}}\n      - {at: 1m, percent: {v2: 100}}\n" +
		"backends: [sim, local, kubernetes]\n"
	sc, err := Parse("ok.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Backends) != 3 || len(sc.Functions[0].Revisions) != 2 {
		t.Errorf("backends %v, revisions %d", sc.Backends, len(sc.Functions[0].Revisions))
	}
}

func TestParseRevisionErrors(t *testing.T) {
	base := func(fn string) string {
		return "duration: 10m\ntraffic: constant:rate=1\npolicies: [knative]\nfunctions:\n  - name: api\n" + fn
	}
	revs := "    revisions:\n      - name: v1\n      - name: v2\n"
	for _, tc := range []struct {
		name, src string
		line      int
		want      string
	}{
		{"sum not 100", base(revs + "    split:\n      - {at: 1m, percent: {v1: 50, v2: 40}}\n"), 10, "sum to 90, want 100"},
		{"unknown revision", base(revs + "    split:\n      - {at: 1m, percent: {v3: 100}}\n"), 10, `no revision "v3"`},
		{"unknown rollout target", base(revs + "    split:\n      - {at: 1m, rollout: v9}\n"), 10, `no revision "v9"`},
		{"unknown revision key", base("    revisions:\n      - name: v1\n        colour: blue\n"), 8, "unknown key"},
		{"unknown step key", base(revs + "    split:\n      - {at: 1m, rollout: v2, speed: 3}\n"), 10, "unknown key"},
		{"steps out of order", base(revs + "    split:\n      - {at: 2m, rollout: v2}\n      - {at: 1m, rollout: v1}\n"), 11, "time order"},
		{"duplicate revision", base("    revisions:\n      - name: v1\n      - name: v1\n"), 8, "given twice"},
		{"split without revisions", base("    split:\n      - {at: 1m, rollout: v2}\n"), 7, "needs revisions"},
		{"percent and rollout", base(revs + "    split:\n      - {at: 1m, rollout: v2, percent: {v2: 100}}\n"), 10, "either percent or rollout"},
		{"duration on a percent step", base(revs + "    split:\n      - {at: 1m, percent: {v2: 100}, duration: 1m}\n"), 10, "belongs to a rollout step"},
		{"traffic before deploy", base("    revisions:\n      - name: v1\n      - name: v2\n        deployAt: 5m\n    split:\n      - {at: 1m, rollout: v2}\n"), 11, "before it is deployed"},
		{"tag traffic without tag", base("    revisions:\n      - name: v1\n        tagTraffic: constant:rate=1\n"), 8, "needs a tag"},
		{"bad revision setting", base("    revisions:\n      - name: v1\n        settings: {target: nope}\n"), 5, "under policy knative"},
		{"rollouts without a rollout step", base(revs+"    split:\n      - {at: 1m, percent: {v2: 100}}\n") + "rollouts:\n  - name: a\n", 12, "no function's split has one"},
		{"rollout bad scale", base(revs+"    split:\n      - {at: 1m, rollout: v2}\n") + "rollouts:\n  - name: a\n    initialScale: lots\n", 13, "pod count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tc.src))
			var be *badinput.Error
			if !errors.As(err, &be) {
				t.Fatalf("error %v, want a *badinput.Error", err)
			}
			if be.File != "bad.yaml" || be.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q (line %d), want line %d and %q", err, be.Line, tc.line, tc.want)
			}
		})
	}
}

// TestSchemaRevisionExamples parses SCHEMA.md's revisions and rollouts
// examples together, so the documentation cannot drift from the parser.
func TestSchemaRevisionExamples(t *testing.T) {
	doc, err := os.ReadFile("SCHEMA.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Revisions, traffic splits and rollouts")
	if !ok {
		t.Fatal("SCHEMA.md has no revisions section")
	}
	var blocks []string
	for range 2 {
		_, after, ok1 := strings.Cut(rest, "```yaml\n")
		block, after2, ok2 := strings.Cut(after, "```")
		if !ok1 || !ok2 {
			t.Fatal("want two yaml examples in SCHEMA.md's revisions section")
		}
		blocks = append(blocks, block)
		rest = after2
	}
	src := "duration: 10m\ntraffic: constant:rate=10\npolicies: [knative]\n" + blocks[0] + blocks[1]
	s, err := Parse("SCHEMA.md", []byte(src))
	if err != nil {
		t.Fatalf("SCHEMA.md's revisions examples do not parse: %v", err)
	}
	if n := len(s.Policies); n != 4 {
		t.Errorf("%d runs, want knative under each of the 4 rollouts", n)
	}
}
