package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/traffic"
)

// TestFileLimits: a file's value beyond a limit is refused at its line.
func TestFileLimits(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"duration", "duration: 100000h\ntraffic: constant:rate=1\n", "e.yaml:1: duration: want a duration between 1s and 336h0m0s, got 100000h0m0s"},
		{"huge service time", "duration: 10s\ntraffic: constant:rate=10\nfunctions:\n  - name: a\n    service: fixed:1000000h\n", "e.yaml:5: functions[0].service: fixed:1000000h0m0s has mean 1000000h0m0s; want at most 1h0m0s"},
		{"huge start-up phase", "duration: 10s\ntraffic: constant:rate=10\nfunctions:\n  - name: a\n    startup: {appInit: exp:mean=2h}\n", "e.yaml:5: functions[0].startup.appInit: exp:mean=2h0m0s has mean 2h0m0s"},
		{"containerConcurrency", "duration: 10s\ntraffic: constant:rate=10\nfunctions:\n  - name: a\n    containerConcurrency: 5000\n", "e.yaml:5: functions[0].containerConcurrency: want containerConcurrency from 0 (unlimited) to 1000, got 5000"},
		{"readiness period", "duration: 10s\ntraffic: constant:rate=10\nfunctions:\n  - name: a\n    startup: {readinessPeriod: 2m}\n", "e.yaml:5: functions[0].startup.readinessPeriod: want a readiness period from 0 to 1m0s"},
		{"queue depth", "duration: 10s\ntraffic: constant:rate=10\nactivator:\n  queueDepth: 2000000\n", "e.yaml:4: activator.queueDepth: want a queue depth from 0 (the platform default) to 1000000, got 2000000"},
		{"too many requests", "duration: 336h\ntraffic: constant:rate=1e6\n", "e.yaml:2: traffic: constant:rate=1e+06 for 336h0m0s plans about 1.21e+12 requests; want at most 1e+10"},
		{"timeout", "duration: 10s\ntraffic: constant:rate=10\nactivator:\n  timeout: 2h\n", "e.yaml:4: activator.timeout: want a timeout from 0 (the platform default) to 1h0m0s, got 2h0m0s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("e.yaml", []byte(tc.doc))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func mustPattern(t *testing.T, spec string) traffic.Pattern {
	t.Helper()
	p, err := traffic.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckLimits: a scenario built from flags is held to the file's
// limits by the same checks.
func TestCheckLimits(t *testing.T) {
	d := func(spec string) dist.Dist {
		v, err := dist.Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ok := func() *Scenario {
		return &Scenario{Duration: 10 * time.Second, Functions: []Function{{Name: "fn", Service: d("fixed:100ms"),
			Startup: Startup{AppInit: d("1s"), ReadinessPeriod: DefaultReadinessPeriod}}}}
	}
	cases := []struct {
		name   string
		change func(*Scenario)
		want   string
	}{
		{"within the limits", func(*Scenario) {}, ""},
		{"at the limits", func(s *Scenario) {
			s.Duration, s.Activator = MaxDuration, Activator{QueueDepth: MaxQueueDepth, Timeout: MaxTimeout}
			s.Functions[0].Service, s.Functions[0].ContainerConcurrency = d("fixed:1h"), MaxContainerConcurrency
		}, ""},
		{"--duration 100000h", func(s *Scenario) { s.Duration = 100000 * time.Hour }, "duration: want a duration between 1s and 336h0m0s"},
		{"--queue-depth -1", func(s *Scenario) { s.Activator.QueueDepth = -1 }, "activator queue depth: want a queue depth from 0 (the platform default) to 1000000, got -1"},
		{"--timeout -1s", func(s *Scenario) { s.Activator.Timeout = -time.Second }, "activator timeout: want a timeout from 0 (the platform default) to 1h0m0s, got -1s"},
		{"--service fixed:1000000h", func(s *Scenario) { s.Functions[0].Service = d("fixed:1000000h") }, "function fn: service: fixed:1000000h0m0s has mean"},
		{"--startup fixed:2h", func(s *Scenario) { s.Functions[0].Startup.AppInit = d("fixed:2h") }, "function fn: startup.appInit:"},
		{"--concurrency -3", func(s *Scenario) { s.Functions[0].ContainerConcurrency = -3 }, "function fn: want containerConcurrency from 0"},
		{"--readiness-period -1s", func(s *Scenario) { s.Functions[0].Startup.ReadinessPeriod = -time.Second }, "function fn: startup.readinessPeriod:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := ok()
			tc.change(s)
			err := CheckLimits(s)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
