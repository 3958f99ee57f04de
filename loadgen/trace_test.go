package loadgen

import (
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalebench/scalebench/traffic"
)

// moduleRoot is the directory holding go.mod, found from the test's working
// directory (the package directory).
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// traceServer records, per path ("/f0", "/f1", ...), the work each request
// asked for.
type traceServer struct {
	mu   sync.Mutex
	work map[string][]time.Duration
	bad  []string
}

func newTraceServer(t *testing.T, functions int) (*traceServer, []string) {
	ts := &traceServer{work: map[string][]time.Duration{}}
	srv := okServer(t, func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		d, err := time.ParseDuration(r.URL.Query().Get(WorkParam))
		if err != nil || d <= 0 {
			ts.bad = append(ts.bad, r.URL.String())
			return
		}
		ts.work[r.URL.Path] = append(ts.work[r.URL.Path], d)
	})
	urls := make([]string, functions)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/f%d", srv.URL, i)
	}
	return ts, urls
}

// Azure 2019 replay through the load generator: one minute of the
// repository's sample (scenarios/data/azure2019-sample), scaled down and compressed to two seconds, reaches each
// function's URL as often as the trace says, every request carrying a
// duration drawn from that function's percentiles.
func TestAzure2019Replay(t *testing.T) {
	sample := filepath.Join(moduleRoot(t), "scenarios", "data", "azure2019-sample")
	const (
		functions = 4
		scale     = 0.1
	)
	p, err := traffic.Parse(fmt.Sprintf("azure2019:path=%s,functions=%d,minutes=0+1,scale=%g,compress=30", sample, functions, scale))
	if err != nil {
		t.Fatal(err)
	}
	tr := p.(*traffic.Trace)
	if tr.Length() > 3*time.Second {
		t.Fatalf("replay lasts %s; the test wants a few seconds", tr.Length())
	}

	// What the files say: minute 1's count per function, and each
	// function's duration range (ms).
	inv := readCSV(t, filepath.Join(sample, "invocations.csv"))
	durs := readCSV(t, filepath.Join(sample, "durations.csv"))
	lo, hi := map[string]float64{}, map[string]float64{}
	for _, r := range durs.rows {
		fn := r[durs.col["HashFunction"]]
		lo[fn] = durs.float(t, r, "percentile_Average_0")
		hi[fn] = durs.float(t, r, "percentile_Average_100")
	}
	names := make([]string, functions)
	raw := make([]float64, functions)
	for i := range functions {
		names[i] = inv.rows[i][inv.col["HashFunction"]]
		raw[i] = inv.float(t, inv.rows[i], "1")
		if tr.Functions()[i].Name != names[i] {
			t.Fatalf("function %d is %s, invocations.csv row %d is %s", i, tr.Functions()[i].Name, i+1, names[i])
		}
	}

	ts, urls := newTraceServer(t, functions)
	rep, rows := attack(t, Config{URLs: urls, Pattern: p, Duration: tr.Length() + time.Second})
	if len(ts.bad) > 0 {
		t.Fatalf("%d requests without a positive work duration, e.g. %s", len(ts.bad), ts.bad[0])
	}
	if rep.Summary.Requests > 500 || rep.Summary.Requests == 0 || rep.Summary.Completed != rep.Summary.Requests {
		t.Fatalf("summary: %d requests, %d completed; want a few hundred, all completed", rep.Summary.Requests, rep.Summary.Completed)
	}
	csvFns := map[int]int{}
	for _, r := range rows {
		csvFns[r.fn]++
	}
	for i := range functions {
		work := ts.work[fmt.Sprintf("/f%d", i)]
		want := raw[i] * scale
		if math.Abs(float64(len(work))-want) > 1 || csvFns[i] != len(work) {
			t.Errorf("function %d: server got %d requests, requests.csv %d; the trace has %.0f×%g = %.1f", i, len(work), csvFns[i], raw[i], scale, want)
		}
		for _, d := range work {
			ms := float64(d) / 1e6
			if ms < lo[names[i]]*0.99 || ms > hi[names[i]]*1.01 {
				t.Errorf("function %d: work %s outside its duration range %g–%g ms", i, d, lo[names[i]], hi[names[i]])
				break
			}
		}
	}
}

// Azure 2021 replay: each row is one request, at its end minus its
// duration, compressed, with the row's duration as its work.
func TestAzure2021Replay(t *testing.T) {
	type req struct {
		fn   string
		at   float64 // arrival, s
		work float64 // s
	}
	// Arrivals over 10 s, replayed 20x faster: half a second.
	var reqs []req
	for i := 0; i < 60; i++ {
		fn := []string{"a/resize", "a/thumb", "b/api"}[i%3]
		reqs = append(reqs, req{fn, 1000 + float64(i)/6, 0.001 * float64(1+i%7)})
	}
	var b strings.Builder
	b.WriteString("app,func,end_timestamp,duration\n")
	for _, r := range reqs {
		app, fn, _ := strings.Cut(r.fn, "/")
		fmt.Fprintf(&b, "%s,%s,%.6f,%.6f\n", app, fn, r.at+r.work, r.work)
	}
	file := filepath.Join(t.TempDir(), "trace.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		compress float64
	}{
		{"compressed 20x", 20},
		{"compressed 40x", 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := traffic.Parse(fmt.Sprintf("azure2021:file=%s,compress=%g", file, tc.compress))
			if err != nil {
				t.Fatal(err)
			}
			tr := p.(*traffic.Trace)
			want := map[string][]time.Duration{}
			paths := map[string]string{}
			for i, f := range tr.Functions() {
				paths[f.Name] = fmt.Sprintf("/f%d", i)
			}
			for _, r := range reqs {
				want[paths[r.fn]] = append(want[paths[r.fn]], time.Duration(math.Round(r.work*1e6))*time.Microsecond)
			}
			ts, urls := newTraceServer(t, len(tr.Functions()))
			rep, rows := attack(t, Config{URLs: urls, Pattern: p, Duration: 2 * time.Second})
			if len(ts.bad) > 0 {
				t.Fatalf("%d requests without work, e.g. %s", len(ts.bad), ts.bad[0])
			}
			if rep.Summary.Requests != int64(len(reqs)) {
				t.Errorf("%d requests, the file has %d", rep.Summary.Requests, len(reqs))
			}
			if n := len(tr.Functions()); n != 3 {
				t.Fatalf("%d functions, want 3", n)
			}
			for path, w := range want {
				got := slices.Clone(ts.work[path])
				slices.Sort(got)
				slices.Sort(w)
				for i := range got {
					got[i] = got[i].Round(time.Microsecond)
				}
				if !slices.Equal(got, w) {
					t.Errorf("%s: work %v, want %v", path, got, w)
				}
			}
			// The replay is compressed: the last intended send is near
			// the span of the arrivals divided by the factor.
			span := (reqs[len(reqs)-1].at - reqs[0].at) / tc.compress * 1000
			last := 0.0
			for _, r := range rows {
				last = max(last, r.intended)
			}
			if math.Abs(last-span) > 1 {
				t.Errorf("last intended send at %.1f ms, want %.1f ms (compressed %gx)", last, span, tc.compress)
			}
		})
	}
}

type csvTable struct {
	col  map[string]int
	rows [][]string
}

func readCSV(t *testing.T, path string) csvTable {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("%s: %v (%d lines)", path, err, len(recs))
	}
	tab := csvTable{col: map[string]int{}, rows: recs[1:]}
	for i, h := range recs[0] {
		tab.col[h] = i
	}
	return tab
}

func (c csvTable) float(t *testing.T, r []string, col string) float64 {
	t.Helper()
	i, ok := c.col[col]
	if !ok {
		t.Fatalf("no column %q", col)
	}
	v, err := strconv.ParseFloat(r[i], 64)
	if err != nil {
		t.Fatalf("column %s: %v", col, err)
	}
	return v
}
