package loadgen

import (
	"context"
	"errors"
	"math"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scalebench/scalebench/traffic"
)

// mustParse parses a pattern spec a test relies on.
func mustParse(t testing.TB, spec string) traffic.Pattern {
	t.Helper()
	p, err := traffic.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A config the generator cannot carry out is refused before anything is
// sent: a method net/http would refuse per request, a rate no machine can
// plan for (rate=1e9 for 3 s once ran for 40 s), more workers than the
// open-files limit has room for.
func TestImpossibleConfigsRefusedBeforeSending(t *testing.T) {
	var served atomic.Int64
	srv := okServer(t, func(http.ResponseWriter, *http.Request) { served.Add(1) })
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"method with a space", Config{Pattern: mustParse(t, "constant:rate=10"), Method: "GE T"}, `method "GE T"`},
		{"method with a slash", Config{Pattern: mustParse(t, "constant:rate=10"), Method: "GET/"}, "HTTP method"},
		{"rate a typo", Config{Pattern: mustParse(t, "constant:rate=1e9"), Duration: 3 * time.Second}, "more than this machine can send"},
		{"spike beyond the limit", Config{Pattern: mustParse(t, "spike:base=10,peak=5000,at=200ms,length=50ms"), MaxRate: 1000}, "plans 5000 requests/s"},
		{"ramp ending beyond the limit", Config{Pattern: mustParse(t, "ramp:from=0,to=2000,over=1s"), MaxRate: 1000}, "more than this machine can send"},
		{"rate NaN", Config{Pattern: nanRate{}}, "NaN"},
		{"more workers than descriptors", Config{Pattern: mustParse(t, "constant:rate=10"), MaxWorkers: 1 << 30}, "open-files limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.URLs = []string{srv.URL}
			if tc.cfg.Duration == 0 {
				tc.cfg.Duration = time.Second
			}
			start := time.Now()
			_, err := Attack(context.Background(), tc.cfg)
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a ConfigError saying %q", err, tc.want)
			}
			if took := time.Since(start); took > 500*time.Millisecond {
				t.Errorf("refusal took %s", took)
			}
			if n := served.Load(); n != 0 {
				t.Errorf("%d requests were sent before the refusal", n)
			}
		})
	}
}

// nanRate is a pattern whose planned rate is not a number.
type nanRate struct{}

func (nanRate) Arrivals(int64, time.Duration) traffic.Source { return &fixedSource{} }
func (nanRate) Rate(time.Duration) float64                   { return math.NaN() }
func (nanRate) String() string                               { return "nan" }

// The limits at their edges: a plan at MaxRate is accepted, the default
// scales with the cores, and workers are sized to the descriptors.
func TestConfigLimits(t *testing.T) {
	base := func() Config {
		return Config{URLs: []string{"http://127.0.0.1:1/"}, Pattern: mustParse(t, "constant:rate=1000"), Duration: time.Second}
	}
	c := base()
	c.MaxRate = 1000
	if err := c.defaults(); err != nil {
		t.Errorf("rate at the limit refused: %v", err)
	}
	c = base()
	if err := c.defaults(); err != nil || c.MaxRate != DefaultMaxRate() || c.MaxRate < RatePerCore {
		t.Errorf("default max rate %v (err %v), want %v", c.MaxRate, err, DefaultMaxRate())
	}
	b := fileBudget(3)
	if !b.known {
		t.Skip("no open-files limit to size workers by")
	}
	c = base()
	c.FilesPerRequest = 3
	if err := c.defaults(); err != nil {
		t.Fatal(err)
	}
	if c.MaxWorkers > defaultMaxWorkers || c.MaxWorkers*3+b.open > b.limit {
		t.Errorf("max workers %d at 3 files each, with limit %d and %d open", c.MaxWorkers, b.limit, b.open)
	}
}

// Under a low open-files limit, with the target in the same process (two
// descriptors a request), the workers are sized so that no request fails
// for want of a descriptor. Before, half the limit went to workers alone
// and the target's side of each connection ran the process out. The limit
// can only be lowered for good, so the test runs in a child process.
func TestWorkersFitTheOpenFilesLimit(t *testing.T) {
	const limit = 256
	if os.Getenv("LOADGEN_NOFILE_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWorkersFitTheOpenFilesLimit$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "LOADGEN_NOFILE_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("child did not pass:\n%s", out)
		}
		return
	}
	lim := syscall.Rlimit{Cur: limit, Max: limit}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot lower the open-files limit: %v", err)
	}
	srv := okServer(t, func(http.ResponseWriter, *http.Request) { time.Sleep(700 * time.Millisecond) })
	rep, _ := attack(t, Config{
		URLs: []string{srv.URL}, Pattern: mustParse(t, "constant:rate=400"), Duration: time.Second,
		FilesPerRequest: 2,
	})
	s := rep.Summary
	if s.Errors["too_many_open_files"] != 0 || s.Errors["other"] != 0 {
		t.Errorf("errors %v: the workers outgrew the open-files limit", s.Errors)
	}
	if s.Completed == 0 {
		t.Errorf("nothing completed: %+v", s)
	}
}
