package traffic

import (
	"os"
	"strings"
	"testing"
	"time"
)

func FuzzAzure2019(f *testing.F) {
	inv, dur, mem := samplePaths(f)
	// Two rows and, for invocations, 20 minutes keep the seeds small
	// enough for the fuzzer to mutate and minimise quickly.
	read := func(p string, cols int) string {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.SplitN(string(b), "\n", 4)[:3]
		for i, l := range lines {
			fields := strings.Split(l, ",")
			lines[i] = strings.Join(fields[:min(cols, len(fields))], ",")
		}
		return strings.Join(lines, "\n")
	}
	f.Add(read(inv, 24), read(dur, 100), read(mem, 100), uint8(0), uint8(0), "")
	f.Add("HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,3,0\n", "", "HashOwner,HashApp,AverageAllocatedMb\no,a,128\n", uint8(2), uint8(0), "")
	f.Add("HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,3,0\no,b,g,timer,0,1\no,a,h,http,1,1\n", "", "", uint8(1), uint8(2), "http")
	// sample draws a seeded sample of that many functions (0: none);
	// trigger, when set, keeps only that trigger.
	f.Fuzz(func(t *testing.T, inv, dur, mem string, spread, sample uint8, trigger string) {
		nr := func(body, name string) namedReader {
			if body == "" && name != "inv.csv" {
				return namedReader{}
			}
			return namedReader{strings.NewReader(body), name}
		}
		opt := Azure2019Options{Spread: Spread(spread % 3), Compression: 60, Scale: 0.001, Sample: int(sample % 8), SampleSeed: int64(sample)}
		if trigger != "" {
			opt.Triggers = []string{trigger}
		}
		tr, err := readAzure2019(nr(inv, "inv.csv"), nr(dur, "dur.csv"), nr(mem, "mem.csv"),
			opt)
		if err != nil {
			if s := err.Error(); !strings.HasPrefix(s, "inv.csv") && !strings.HasPrefix(s, "dur.csv") && !strings.HasPrefix(s, "mem.csv") {
				t.Fatalf("error %q does not name the file", s)
			}
			return
		}
		if opt.Sample > 0 && len(tr.Functions()) > opt.Sample {
			t.Fatalf("sample of %d kept %d functions", opt.Sample, len(tr.Functions()))
		}
		total := 0.0
		for _, f := range tr.Functions() {
			if trigger != "" && f.Trigger != trigger {
				t.Fatalf("trigger filter %q kept a %q function", trigger, f.Trigger)
			}
			total += f.MeanRate * tr.Length().Seconds()
		}
		if total > 1e5 {
			return // a valid but huge count: each minute costs O(count) to set up
		}
		prev := time.Duration(-1)
		s := tr.Arrivals(1, 0)
		for range 10000 {
			a, ok := s.Next()
			if !ok {
				break
			}
			if a.At < prev || a.Function >= len(tr.Functions()) || a.Work < 0 {
				t.Fatalf("bad arrival %+v after %v", a, prev)
			}
			prev = a.At
		}
	})
}
