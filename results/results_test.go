package results

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestHistogramQuantilesWithinResolution(t *testing.T) {
	h := NewHistogram()
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Millisecond / 10) // 0.1 ms .. 1 s uniform
	}
	cases := []struct {
		name string
		q    float64
		want time.Duration
	}{
		{"median", 0.50, 500 * time.Millisecond},
		{"p95", 0.95, 950 * time.Millisecond},
		{"p99", 0.99, 990 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := h.Quantile(c.q)
			if d := got - c.want; d < -c.want/1000 || d > c.want/1000 {
				t.Errorf("quantile %g = %v, want %v within 0.1%%", c.q, got, c.want)
			}
		})
	}
	if h.Count() != 10000 {
		t.Errorf("count %d", h.Count())
	}
}

func TestHistogramClampsOutOfRange(t *testing.T) {
	h := NewHistogram()
	h.Record(-time.Second)
	h.Record(10 * time.Hour)
	if h.Count() != 2 || h.Max() < 59*time.Minute {
		t.Errorf("count %d max %v: out-of-range latencies must still be counted", h.Count(), h.Max())
	}
}

func TestBucketsRoundTrip(t *testing.T) {
	h := NewHistogram()
	for i := 0; i < 1000; i++ {
		h.Record(time.Duration(i*i) * time.Microsecond)
	}
	back, err := HistogramFromBuckets(h.Buckets())
	if err != nil {
		t.Fatal(err)
	}
	if back.Count() != h.Count() || back.Percentiles() != h.Percentiles() {
		t.Errorf("round trip changed the distribution: %+v vs %+v", back.Percentiles(), h.Percentiles())
	}
	if _, err := HistogramFromBuckets([][2]int64{{5, -1}}); err == nil {
		t.Error("negative count accepted")
	}
}

func TestOutDirIsAtomic(t *testing.T) {
	parent := t.TempDir()
	final := filepath.Join(parent, "out")
	// A previous output: what a run may replace without --force.
	prev, err := CreateOutDir(final)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(prev.Path("old.txt"), []byte("old"), 0o644)
	if err := prev.Commit(); err != nil {
		t.Fatal(err)
	}

	aborted, err := CreateOutDir(final)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(aborted.Path("half.json"), []byte("{"), 0o644)
	aborted.Abort()
	if _, err := os.Stat(filepath.Join(final, "old.txt")); err != nil {
		t.Fatalf("an aborted run disturbed the old directory: %v", err)
	}

	o, err := CreateOutDir(final)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(o.Path("summary.json"), Summary{Kind: "sim", Requests: 3}); err != nil {
		t.Fatal(err)
	}
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(final, "old.txt")); !os.IsNotExist(err) {
		t.Error("commit kept the old directory's files")
	}
	s, err := ReadSummary(filepath.Join(final, "summary.json"))
	if err != nil || s.Requests != 3 {
		t.Fatalf("read back %+v, %v", s, err)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Errorf("leftovers beside the output: %v", entries)
	}
}
