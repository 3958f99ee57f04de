package traffic

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sampleDir is the repository's copy of the ten-function Azure 2019 sample
// (scenarios/data/azure2019-sample/SOURCE.md).
const sampleDir = "../scenarios/data/azure2019-sample/"

func samplePaths(t testing.TB) (inv, dur, mem string) {
	t.Helper()
	dir := sampleDir
	return dir + "invocations.csv", dir + "durations.csv", dir + "memory.csv"
}

// csvCounts sums the sample's per-minute counts of each function, minutes
// [from, to), independently of the loader.
func csvCounts(t *testing.T, path string, from, to int) []int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var sums []int
	for _, rec := range recs[1:] {
		s := 0
		for m := from; m < to; m++ {
			n, err := strconv.Atoi(rec[4+m])
			if err != nil {
				t.Fatal(err)
			}
			s += n
		}
		sums = append(sums, s)
	}
	return sums
}

func TestAzure2019Counts(t *testing.T) {
	inv, dur, mem := samplePaths(t)
	tests := []struct {
		name     string
		opt      Azure2019Options
		from, to int
	}{
		{name: "exponential whole day compressed", opt: Azure2019Options{Compression: 144}, from: 0, to: 1440},
		{name: "uniform", opt: Azure2019Options{Spread: SpreadUniform, FirstMinute: 100, Minutes: 30}, from: 100, to: 130},
		{name: "equidistant", opt: Azure2019Options{Spread: SpreadEquidistant, Minutes: 20}, from: 0, to: 20},
		{name: "first three", opt: Azure2019Options{Functions: 3, Minutes: 60, Compression: 6}, from: 0, to: 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := LoadAzure2019(inv, dur, mem, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			want := csvCounts(t, inv, tt.from, tt.to)
			if tt.opt.Functions > 0 {
				want = want[:tt.opt.Functions]
			}
			if len(tr.Functions()) != len(want) {
				t.Fatalf("%d functions, want %d", len(tr.Functions()), len(want))
			}
			comp := tt.opt.Compression
			if comp == 0 {
				comp = 1
			}
			minute := time.Duration(float64(time.Minute) / comp)
			got := make([]int, len(want))
			prev := time.Duration(-1)
			s := tr.Arrivals(1, 0)
			for a, ok := s.Next(); ok; a, ok = s.Next() {
				if a.At < prev {
					t.Fatalf("arrival at %v after %v", a.At, prev)
				}
				prev = a.At
				got[a.Function]++
				if a.Work < 0 {
					t.Fatalf("negative work %v", a.Work)
				}
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("function %d: %d arrivals, CSV sums to %d", i, got[i], want[i])
				}
			}
			if end := time.Duration(tt.to-tt.from) * minute; prev >= end {
				t.Errorf("last arrival %v, want before %v", prev, end)
			}
		})
	}
}

func TestAzure2019PerMinute(t *testing.T) {
	// Compression must shrink each minute, not move arrivals between them.
	inv, _, _ := samplePaths(t)
	for _, spread := range []Spread{SpreadExponential, SpreadUniform, SpreadEquidistant} {
		t.Run(spread.String(), func(t *testing.T) {
			tr, err := LoadAzure2019(inv, "", "", Azure2019Options{Functions: 2, Minutes: 10, Spread: spread, Compression: 60})
			if err != nil {
				t.Fatal(err)
			}
			want0 := csvCounts(t, inv, 0, 1)
			want5 := csvCounts(t, inv, 5, 6)
			var got0, got5 int
			s := tr.Arrivals(3, 0)
			for a, ok := s.Next(); ok; a, ok = s.Next() {
				switch a.At / time.Second { // a trace minute is one second here
				case 0:
					got0++
				case 5:
					got5++
				}
			}
			if got0 != want0[0]+want0[1] || got5 != want5[0]+want5[1] {
				t.Errorf("minute 0: %d, minute 5: %d; want %d and %d", got0, got5, want0[0]+want0[1], want5[0]+want5[1])
			}
		})
	}
}

func TestAzure2019Compression(t *testing.T) {
	inv, dur, _ := samplePaths(t)
	a, err := LoadAzure2019(inv, dur, "", Azure2019Options{Functions: 2, Minutes: 5})
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadAzure2019(inv, dur, "", Azure2019Options{Functions: 2, Minutes: 5, Compression: 10})
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := a.Arrivals(5, 0), b.Arrivals(5, 0)
	n := 0
	for {
		x, ok1 := sa.Next()
		y, ok2 := sb.Next()
		if ok1 != ok2 {
			t.Fatalf("arrival %d: streams end at different points", n)
		}
		if !ok1 {
			break
		}
		if math.Abs(float64(x.At)/10-float64(y.At)) > 1 || x.Work != y.Work || x.Function != y.Function {
			t.Fatalf("arrival %d: %+v uncompressed, %+v compressed by 10", n, x, y)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no arrivals")
	}
	if got, want := b.Length(), 30*time.Second; got != want {
		t.Errorf("Length() = %v, want %v", got, want)
	}
	if r0, r1 := a.Rate(90*time.Second), b.Rate(9*time.Second); math.Abs(r0*10-r1) > 1e-9*r1 {
		t.Errorf("Rate compressed = %v, want 10 × %v", r1, r0)
	}
}

func TestAzure2019Seeds(t *testing.T) {
	inv, dur, _ := samplePaths(t)
	tr, err := LoadAzure2019(inv, dur, "", Azure2019Options{Minutes: 3})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := tr.Arrivals(1, 0), tr.Arrivals(1, 0), tr.Arrivals(2, 0)
	same, differ := true, false
	for {
		x, ok1 := a.Next()
		y, ok2 := b.Next()
		z, _ := c.Next()
		same = same && ok1 == ok2 && x == y
		differ = differ || x != z
		if !ok1 || !ok2 {
			break
		}
	}
	if !same || !differ {
		t.Errorf("same seed same stream = %v, different seed different stream = %v", same, differ)
	}
}

func TestAzure2019Functions(t *testing.T) {
	inv, dur, mem := samplePaths(t)
	tr, err := LoadAzure2019(inv, dur, mem, Azure2019Options{Compression: 1})
	if err != nil {
		t.Fatal(err)
	}
	fs := tr.Functions()
	first := fs[0]
	if !strings.HasPrefix(first.Name, "47658c9c") || first.Trigger != "http" || first.MemoryMB != 204 {
		t.Errorf("first function = %+v, want 47658c9c…, http, 204 MB", first)
	}
	// Percentiles 1,247,269,282,304,481,130686 ms: the median is exact.
	if d, ok := first.Duration.(interface{ Quantile(float64) time.Duration }); !ok || d.Quantile(0.5) != 282*time.Millisecond {
		t.Errorf("median duration of %v, want 282ms", first.Duration)
	}
	want := csvCounts(t, inv, 0, 1440)
	if got := fs[0].MeanRate; math.Abs(got-float64(want[0])/86400) > 1e-9 {
		t.Errorf("MeanRate = %v, want %v", got, float64(want[0])/86400)
	}
	sel, err := LoadAzure2019(inv, "", "", Azure2019Options{Hashes: []string{fs[3].Name[:10]}})
	if err != nil {
		t.Fatal(err)
	}
	if got := sel.Functions(); len(got) != 1 || got[0].Name != fs[3].Name {
		t.Errorf("selection by hash gave %d functions", len(got))
	}
}

func TestAzure2019Scale(t *testing.T) {
	inv, _, _ := samplePaths(t)
	tr, err := LoadAzure2019(inv, "", "", Azure2019Options{Functions: 1, Minutes: 60, Scale: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	s := tr.Arrivals(1, 0)
	for _, ok := s.Next(); ok; _, ok = s.Next() {
		n++
	}
	want := float64(csvCounts(t, inv, 0, 60)[0]) * 0.25
	if math.Abs(float64(n)-want) > 1 {
		t.Errorf("%d arrivals at scale 0.25, want %v", n, want)
	}
}

func TestAzure2019Errors(t *testing.T) {
	header := "HashOwner,HashApp,HashFunction,Trigger,1,2,3\n"
	tests := []struct {
		name, inv, dur, mem, err string
		opt                      Azure2019Options
	}{
		{name: "bad count", inv: header + "o,a,f,http,1,x,3\n", err: `invocations.csv:2: column 6 ("x"): want a non-negative integer count`},
		{name: "negative count", inv: header + "o,a,f,http,1,2,3\no,a,g,http,1,-2,3\n", err: `invocations.csv:3: column 6 ("-2"): want a non-negative integer count`},
		{name: "short row", inv: header + "o,a,f,http,1,2\n", err: "invocations.csv:2: want 7 columns"},
		{name: "no header", inv: "", err: "invocations.csv:1: want a header row"},
		{name: "missing column", inv: "HashOwner,HashApp,Trigger,1\n", err: "want a HashFunction column"},
		{name: "duplicate", inv: header + "o,a,f,http,1,2,3\no,a,f,http,1,2,3\n", err: "invocations.csv:3: function f also on line 2"},
		{name: "no match", inv: header + "o,a,f,http,1,2,3\n", opt: Azure2019Options{Hashes: []string{"zz"}}, err: "no function selected"},
		{name: "range past end", inv: header + "o,a,f,http,1,2,3\n", opt: Azure2019Options{FirstMinute: 3}, err: "starts at minute 3 but the file has 3"},
		{name: "bad duration", inv: header + "o,a,f,http,1,2,3\n",
			dur: "HashOwner,HashApp,HashFunction,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100\no,a,f,1,2,3,four,5,6,7\n",
			err: `durations.csv:2: column 7 ("four"): want a non-negative duration in milliseconds`},
		{name: "decreasing duration", inv: header + "o,a,f,http,1,2,3\n",
			dur: "HashOwner,HashApp,HashFunction,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100\no,a,f,1,2,3,2,5,6,7\n",
			err: `durations.csv:2: column 7 ("2"): want percentiles in non-decreasing order`},
		{name: "bad memory", inv: header + "o,a,f,http,1,2,3\n", mem: "HashOwner,HashApp,AverageAllocatedMb\no,a,lots\n",
			err: `memory.csv:2: column 3 ("lots"): want a non-negative size in MB`},
		{name: "bad compression", inv: header, opt: Azure2019Options{Compression: -1}, err: "compress: want a factor above 0"},
		{name: "negative first minute", inv: header + "o,a,f,http,1,2,3\n", opt: Azure2019Options{FirstMinute: -5}, err: "firstMinute: want a non-negative minute, got -5"},
		{name: "negative minutes", inv: header + "o,a,f,http,1,2,3\n", opt: Azure2019Options{Minutes: -2}, err: "minutes: want a non-negative count, got -2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, body string) string {
				if body == "" && name != "invocations.csv" {
					return ""
				}
				p := dir + "/" + name
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
			_, err := LoadAzure2019(write("invocations.csv", tt.inv), write("durations.csv", tt.dur), write("memory.csv", tt.mem), tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.err)
			}
		})
	}
}

func TestAzure2019MemoryPerApp(t *testing.T) {
	dir := t.TempDir()
	inv := dir + "/inv.csv"
	mem := dir + "/mem.csv"
	os.WriteFile(inv, []byte("HashOwner,HashApp,HashFunction,Trigger,1\no,a,f,http,1\no,a,g,http,1\no,b,h,http,1\n"), 0o644)
	os.WriteFile(mem, []byte("HashOwner,HashApp,SampleCount,AverageAllocatedMb\no,a,5,300\no,b,5,100\n"), 0o644)
	tr, err := LoadAzure2019(inv, "", mem, Azure2019Options{Functions: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range tr.Functions() {
		if f.MemoryMB != 150 {
			t.Errorf("function %d: %v MB, want 150 (app a's 300 MB split over its two functions)", i, f.MemoryMB)
		}
	}
}

func BenchmarkAzure2019Next(b *testing.B) {
	inv, dur, mem := samplePaths(b)
	tr, err := LoadAzure2019(inv, dur, mem, Azure2019Options{})
	if err != nil {
		b.Fatal(err)
	}
	s := tr.Arrivals(1, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.Next(); !ok {
			s = tr.Arrivals(1, 0)
		}
	}
}
