package calibrate

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/scalebench/scalebench/autoscaler/controller"
)

// WriteSeries writes the two worlds' time series into dir, every time in
// seconds since the traffic began (the simulator's zero), so the first
// point where they diverge can be found by reading them side by side:
//
//   - local-ticks.csv: the local controller's ticks (the stat it last
//     recorded, pods seen, decision), as the platform's timeseries.csv;
//   - local-pods.csv: each local pod's creation, exec and readiness;
//   - sim-seconds.csv: the simulator's per-second rows (the stat it gave
//     the policy, pods and the last decision at the end of the second).
func (r *Result) WriteSeries(dir string) error {
	if r.local == nil {
		return nil
	}
	began := r.local.Began
	if err := writeFile(filepath.Join(dir, "local-ticks.csv"), func(f *os.File) error {
		return controller.WriteCSV(f, began, r.local.Ticks)
	}); err != nil {
		return err
	}
	secs := func(t time.Time) string { return strconv.FormatFloat(t.Sub(began).Seconds(), 'f', 3, 64) }
	if err := writeFile(filepath.Join(dir, "local-pods.csv"), func(f *os.File) error {
		w := csv.NewWriter(f)
		w.Write([]string{"function", "pod", "created_s", "exec_s", "ready_s"})
		names := make([]string, 0, len(r.local.Startups))
		for n := range r.local.Startups {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			for _, s := range r.local.Startups[n] {
				w.Write([]string{n, s.Pod, secs(s.Created), secs(s.Exec), secs(s.Ready)})
			}
		}
		w.Flush()
		return w.Error()
	}); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "sim-seconds.csv"), func(f *os.File) error {
		w := csv.NewWriter(f)
		w.Write([]string{"t_end_s", "function", "arrivals", "concurrency", "queued", "desired", "ready", "pods", "panic"})
		for _, s := range r.simulSec {
			// T is the second's start; the stat is recorded at its end,
			// which is the time the local ticks are stamped with.
			w.Write([]string{strconv.FormatInt(s.T+1, 10), s.Name, strconv.FormatInt(s.Arrivals, 10),
				strconv.FormatFloat(s.Concurrency, 'f', 3, 64), strconv.Itoa(s.Queued), strconv.Itoa(s.Desired),
				strconv.Itoa(s.Ready), strconv.Itoa(s.Pods), strconv.FormatBool(s.Panic)})
		}
		w.Flush()
		return w.Error()
	})
}

func writeFile(path string, fill func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// CreateRequestLogs creates local-requests.csv (the load generator's rows,
// latency from the intended send) and sim-requests.csv (the simulator's)
// in dir, for Options.LocalRequests and SimRequests.
func CreateRequestLogs(dir string) (local, sim *os.File, err error) {
	if local, err = os.Create(filepath.Join(dir, "local-requests.csv")); err != nil {
		return nil, nil, err
	}
	if sim, err = os.Create(filepath.Join(dir, "sim-requests.csv")); err != nil {
		local.Close()
		return nil, nil, err
	}
	return local, sim, nil
}
