package loadgen

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scalebench/scalebench/traffic"
)

// The per-second series adds up to the run, puts each request in the second
// it completed in, counts arrivals by the plan, and reaches timeseries.csv
// exactly as the callback saw it.
func TestSeriesPerSecond(t *testing.T) {
	const delay = 15 * time.Millisecond
	var n atomic.Int64
	srv := okServer(t, func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		time.Sleep(delay)
		w.Header().Set(HeaderInstance, "i1")
		if i == 1 {
			w.Header().Set(HeaderColdStart, "true")
		}
		if i%5 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	for _, tc := range []struct {
		name, spec string
		duration   time.Duration
		// idle lists seconds the plan leaves empty.
		idle []int64
	}{
		{"constant", "constant:rate=100", 2500 * time.Millisecond, nil},
		{"onoff idle second", "onoff:rate=100,on=1s,off=1s", 3 * time.Second, []int64{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n.Store(0)
			p, err := traffic.Parse(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64 // planned arrivals per second
			src := p.Arrivals(1, tc.duration)
			for a, ok := src.Next(); ok; a, ok = src.Next() {
				s := int(a.At / time.Second)
				for len(want) <= s {
					want = append(want, 0)
				}
				want[s]++
			}
			var got []Second
			var csvBuf bytes.Buffer
			cfg := Config{URLs: []string{srv.URL}, Pattern: p, Duration: tc.duration, Seed: 1,
				Series: func(s Second) { got = append(got, s) }, TimeSeries: &csvBuf}
			rep, rows := attack(t, cfg)
			sum := rep.Summary

			secs := int((tc.duration + time.Second - 1) / time.Second)
			if len(got) < secs {
				t.Fatalf("%d seconds reported, want at least %d: %+v", len(got), secs, got)
			}
			var arrivals, completed, errs, cold int64
			for i, s := range got {
				if s.T != int64(i) {
					t.Fatalf("second %d has T=%d", i, s.T)
				}
				w := int64(0)
				if i < len(want) {
					w = want[i]
				}
				if s.Arrivals != w {
					t.Errorf("second %d: %d arrivals, plan has %d", i, s.Arrivals, w)
				}
				arrivals += s.Arrivals
				completed += s.Completed
				errs += s.Errors
				cold += s.Cold
				if s.Completed > 0 {
					if s.P50Ms < float64(delay/time.Millisecond) || s.P50Ms > s.P95Ms || s.P95Ms > s.P99Ms || s.P99Ms > 1000 {
						t.Errorf("second %d: p50/p95/p99 = %v/%v/%v ms with a %s server", i, s.P50Ms, s.P95Ms, s.P99Ms, delay)
					}
				} else if s.P50Ms != 0 || s.P99Ms != 0 {
					t.Errorf("second %d: latencies %v/%v with nothing completed", i, s.P50Ms, s.P99Ms)
				}
			}
			for _, i := range tc.idle {
				// An idle second can only hold the last few responses
				// of the busy second before it.
				if s := got[i]; s.Arrivals != 0 || s.Completed+s.Errors > 10 {
					t.Errorf("idle second %d: %+v", i, s)
				}
			}
			if arrivals != sum.Requests || completed != sum.Completed || errs != sum.Requests-sum.Completed || cold != sum.ColdStarts || cold != 1 {
				t.Errorf("series totals arrivals %d completed %d errors %d cold %d; summary requests %d completed %d cold %d",
					arrivals, completed, errs, cold, sum.Requests, sum.Completed, sum.ColdStarts)
			}
			// Each request in the second it completed in (the CSV's
			// sent + sent latency), give or take the slack at the edges.
			perSec := map[int64]int64{}
			for _, r := range rows {
				perSec[int64((r.sent+r.sentLatency)/1000)]++
			}
			for _, s := range got {
				if d := perSec[s.T] - (s.Completed + s.Errors); d > 3 || d < -3 {
					t.Errorf("second %d: %d requests, requests.csv has %d completing then", s.T, s.Completed+s.Errors, perSec[s.T])
				}
			}

			recs, err := csv.NewReader(&csvBuf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(got)+1 || len(recs[0]) != 8 || recs[0][0] != "t" || recs[0][7] != "p99_ms" {
				t.Fatalf("timeseries.csv: %d rows, header %v; %d seconds", len(recs), recs[0], len(got))
			}
			for i, s := range got {
				r := recs[i+1]
				wantRow := []string{strconv.FormatInt(s.T, 10), strconv.FormatInt(s.Arrivals, 10), strconv.FormatInt(s.Completed, 10),
					strconv.FormatInt(s.Errors, 10), strconv.FormatInt(s.Cold, 10), "", "", ""}
				if s.Completed > 0 {
					wantRow[5] = strconv.FormatFloat(s.P50Ms, 'f', -1, 64)
					wantRow[6] = strconv.FormatFloat(s.P95Ms, 'f', -1, 64)
					wantRow[7] = strconv.FormatFloat(s.P99Ms, 'f', -1, 64)
				}
				for j := range wantRow {
					if r[j] != wantRow[j] {
						t.Errorf("timeseries.csv row %d = %v, want %v", i+1, r, wantRow)
						break
					}
				}
			}
		})
	}
}

// RunToDir writes timeseries.csv beside requests.csv and summary.json.
func TestRunToDirWritesTimeSeries(t *testing.T) {
	srv := okServer(t, nil)
	p, err := traffic.Parse("constant:rate=50")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	calls := 0
	sum, err := RunToDir(context.Background(), Config{URLs: []string{srv.URL}, Pattern: p, Duration: 1500 * time.Millisecond,
		Series: func(Second) { calls++ }}, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "timeseries.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 3 || len(recs)-1 != calls {
		t.Fatalf("timeseries.csv has %d rows, callback saw %d seconds", len(recs)-1, calls)
	}
	var total int64
	for _, r := range recs[1:] {
		c, err := strconv.ParseInt(r[2], 10, 64)
		if err != nil {
			t.Fatalf("row %v: %v", r, err)
		}
		total += c
	}
	if total != sum.Completed || total == 0 {
		t.Errorf("timeseries.csv completed %d, summary %d", total, sum.Completed)
	}
}
