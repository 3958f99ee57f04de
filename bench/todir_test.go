package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/scenarios"
)

// TestRunToDirTimeseriesRows: functions writes a row per function per
// second, fleet one row per second, none no file; all three runs, with any
// workers, give the same summary.
func TestRunToDirTimeseriesRows(t *testing.T) {
	sc, err := scenarios.Load("../scenarios/library/sparse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc.Duration = 5 * time.Minute
	pol := scenarios.Policy{Name: "knative"}
	dir := t.TempDir()
	tests := []struct {
		rows    TimeseriesRows
		workers int
		perRow  int // timeseries.csv rows per simulated second; -1: no file
		header  string
	}{
		{PerFunction, 1, len(sc.Functions), "t,function,"},
		{Fleet, 2, 1, "t,arrivals,"},
		{NoTimeseries, 3, -1, ""},
	}
	var requests, seconds []int64
	for _, tt := range tests {
		t.Run(string(tt.rows), func(t *testing.T) {
			out := filepath.Join(dir, string(tt.rows))
			res, _, err := RunToDir(context.Background(), Simulator{Workers: tt.workers}, Run{Scenario: sc, Policy: pol, TimeseriesRows: tt.rows}, out, false)
			if err != nil {
				t.Fatal(err)
			}
			requests = append(requests, res.Summary.Requests, int64(res.Summary.PodSeconds*1000), int64(res.Summary.MaxPods))
			b, err := os.ReadFile(filepath.Join(out, "timeseries.csv"))
			if tt.perRow < 0 {
				if !os.IsNotExist(err) {
					t.Fatalf("timeseries.csv written (%v)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The run lasts until the last request is done, after the
			// traffic's 300 s.
			n := strings.Count(string(b), "\n") - 1
			if n%tt.perRow != 0 || n/tt.perRow < 300 || !strings.HasPrefix(string(b), tt.header) {
				t.Errorf("%d rows starting %.20q, want %d per second for at least 300 s, starting %q", n, b, tt.perRow, tt.header)
			}
			seconds = append(seconds, int64(n/tt.perRow))
		})
	}
	if len(seconds) == 2 && seconds[0] != seconds[1] {
		t.Errorf("%d seconds per function, %d for the fleet", seconds[0], seconds[1])
	}
	for i := 3; i < len(requests); i++ {
		if requests[i] != requests[i%3] {
			t.Errorf("summaries differ between the runs: %v", requests)
		}
	}
}
