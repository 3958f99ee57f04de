package loadgen

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scalebench/scalebench/badinput"
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
			if !badinput.Is(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want bad input saying %q", err, tc.want)
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

// seqCounter counts the distinct requests a target saw, by vegeta's
// sequence number: a transport may resend a request whose connection broke
// (an idempotent GET), and that is still one request.
type seqCounter struct{ seen sync.Map }

func (c *seqCounter) saw(r *http.Request) { c.seen.Store(r.Header.Get(headerSeq), true) }

func (c *seqCounter) count() int64 {
	var n int64
	c.seen.Range(func(any, any) bool { n++; return true })
	return n
}

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

// A run ends about a second after its planned end whatever happens: when
// the generator cannot send its plan, when the target never answers, when
// it is interrupted. What is still in flight then is counted, not lost.
func TestRunEndsOnTime(t *testing.T) {
	block := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	slow := func(http.ResponseWriter, *http.Request) { time.Sleep(50 * time.Millisecond) }
	for _, tc := range []struct {
		name      string
		handler   http.HandlerFunc
		cfg       Config
		cancelAt  time.Duration
		aborted   string // substring of Summary.Aborted; "" for none
		unfinishd bool   // requests are expected under "unfinished"
	}{
		{"generator behind, one worker against a slow target", slow,
			Config{Pattern: mustParse(t, "constant:rate=200"), Duration: 2 * time.Second, MaxWorkers: 1}, 0, "fell behind", false},
		{"target never answers", block,
			Config{Pattern: mustParse(t, "constant:rate=20"), Duration: time.Second}, 0, "", true},
		{"target never answers, net/http transport", block,
			Config{Pattern: mustParse(t, "constant:rate=20"), Duration: time.Second, StdTransport: true}, 0, "", true},
		{"interrupted with requests stuck", block,
			Config{Pattern: mustParse(t, "constant:rate=20"), Duration: time.Minute}, 500 * time.Millisecond, "interrupted", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var served seqCounter
			srv := okServer(t, func(w http.ResponseWriter, r *http.Request) {
				served.saw(r)
				tc.handler(w, r)
			})
			tc.cfg.URLs = []string{srv.URL}
			ctx := context.Background()
			planned := tc.cfg.Duration
			if tc.cancelAt > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.cancelAt)
				defer cancel()
				planned = tc.cancelAt
			}
			start := time.Now()
			rep, rows := attackCtx(t, ctx, tc.cfg)
			took := time.Since(start)
			// Drain 1 s (or Grace 0.5 s after the 0.25 s of end slack),
			// and half a second for a busy machine.
			if took > planned+1500*time.Millisecond {
				t.Errorf("planned %s, the run took %s", planned, took)
			}
			s := rep.Summary
			if tc.aborted == "" && s.Aborted != "" || !strings.Contains(s.Aborted, tc.aborted) {
				t.Errorf("aborted = %q, want %q", s.Aborted, tc.aborted)
			}
			if tc.unfinishd && s.Errors[errUnfinished] == 0 {
				t.Errorf("errors %v: want the requests in flight at the end counted as %s", s.Errors, errUnfinished)
			}
			checkCounts(t, s.Requests, s.Completed, s.Dropped, s.Errors, len(rows))
			if served.count() != s.Requests {
				t.Errorf("the target got %d requests, the summary counts %d", served.count(), s.Requests)
			}
		})
	}
}

// Requests whose own work runs past the planned end are waited for: the
// plan's end is when its last request is due to finish.
func TestDrainWaitsForPlannedWork(t *testing.T) {
	srv := okServer(t, func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get(WorkParam))
		time.Sleep(d)
	})
	arrivals := fixed{{At: 0}, {At: 100 * time.Millisecond, Work: 1500 * time.Millisecond}}
	rep, _ := attack(t, Config{URLs: []string{srv.URL}, Pattern: arrivals, Duration: 200 * time.Millisecond, Drain: 200 * time.Millisecond})
	if s := rep.Summary; s.Completed != 2 || s.Errors[errUnfinished] != 0 {
		t.Errorf("completed %d, errors %v: want the 1.5 s request waited for", s.Completed, s.Errors)
	}
}

// checkCounts holds the summary's books: every request sent is completed or
// in exactly one error class, dropped is the 503s, and each has a row.
func checkCounts(t *testing.T, requests, completed, dropped int64, errs map[string]int64, rows int) {
	t.Helper()
	var failed int64
	for _, n := range errs {
		failed += n
	}
	if requests != completed+failed {
		t.Errorf("requests %d != completed %d + errors %d (%v)", requests, completed, failed, errs)
	}
	if dropped != errs["503"] {
		t.Errorf("dropped %d, but %d answers were 503 (%v)", dropped, errs["503"], errs)
	}
	if int64(rows) != requests {
		t.Errorf("requests.csv has %d rows for %d requests", rows, requests)
	}
}

// Every request is accounted for, in every class at once: answers 200, 503,
// 500 and 429, connections reset, timeouts, and requests stuck when the run
// is interrupted (which used to vanish from the summary).
func TestCountsAddUp(t *testing.T) {
	for _, std := range []bool{false, true} {
		t.Run(fmt.Sprintf("std transport %v", std), func(t *testing.T) {
			var n atomic.Int64
			var served seqCounter
			srv := okServer(t, func(w http.ResponseWriter, r *http.Request) {
				served.saw(r)
				switch n.Add(1) % 7 {
				case 1:
					w.WriteHeader(http.StatusServiceUnavailable)
				case 2:
					w.WriteHeader(http.StatusInternalServerError)
				case 3:
					w.WriteHeader(http.StatusTooManyRequests)
				case 4:
					// The connection breaks mid-answer, so no transport
					// can resend the request elsewhere.
					w.Header().Set("Content-Length", "100")
					w.Write([]byte("partial"))
					w.(http.Flusher).Flush()
					if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
						c.(*net.TCPConn).SetLinger(0) // a reset, not a clean close
						c.Close()
					}
				case 5, 6:
					<-r.Context().Done() // past the timeout, or stuck at the end
				}
			})
			// Requests stuck 1 s time out; those sent in the last second
			// before the interrupt are still in flight at the cut.
			ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
			defer cancel()
			rep, rows := attackCtx(t, ctx, Config{
				URLs: []string{srv.URL}, Pattern: mustParse(t, "constant:rate=70"), Duration: time.Minute,
				Timeout: time.Second, Grace: 200 * time.Millisecond, StdTransport: std,
			})
			s := rep.Summary
			checkCounts(t, s.Requests, s.Completed, s.Dropped, s.Errors, len(rows))
			if served.count() != s.Requests {
				t.Errorf("the target got %d requests, the summary counts %d", served.count(), s.Requests)
			}
			for _, class := range []string{"503", "500", "429", "connection_reset", "timeout", errUnfinished} {
				if s.Errors[class] == 0 {
					t.Errorf("no %s among %v", class, s.Errors)
				}
			}
		})
	}
}

func attackCtx(t *testing.T, ctx context.Context, cfg Config) (*Report, []row) {
	t.Helper()
	var buf strings.Builder
	cfg.Requests = &buf
	r, err := Attack(ctx, cfg)
	if err != nil {
		t.Fatalf("Attack: %v", err)
	}
	return r, readRows(t, []byte(buf.String()))
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
