package traffic

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// syntheticDay writes an invocations file of n functions over 30 minutes;
// reversed lists the rows backwards.
func syntheticDay(n int, reversed bool) string {
	var b strings.Builder
	b.WriteString("HashOwner,HashApp,HashFunction,Trigger")
	for m := 1; m <= 30; m++ {
		fmt.Fprintf(&b, ",%d", m)
	}
	b.WriteByte('\n')
	triggers := []string{"http", "timer", "queue", "event"}
	for k := range n {
		i := k
		if reversed {
			i = n - 1 - k
		}
		fmt.Fprintf(&b, "o%d,app%02d,fn%04d,%s", i%7, i%13, i, triggers[i%4])
		for m := range 30 {
			fmt.Fprintf(&b, ",%d", (i+m)%3)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func names(t *testing.T, body string, opt Azure2019Options) []string {
	t.Helper()
	tr, err := readAzure2019(namedReader{strings.NewReader(body), "inv.csv"}, namedReader{}, namedReader{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range tr.Functions() {
		out = append(out, f.Name)
	}
	return out
}

func TestAzure2019Filters(t *testing.T) {
	day := syntheticDay(400, false)
	tests := []struct {
		name string
		opt  Azure2019Options
		want func(i int) bool // which fnNNNN are kept
		n    int              // or just how many, for samples
	}{
		{name: "all", want: func(int) bool { return true }},
		{name: "first 5", opt: Azure2019Options{Functions: 5}, want: func(i int) bool { return i < 5 }},
		{name: "timer trigger", opt: Azure2019Options{Triggers: []string{"timer"}}, want: func(i int) bool { return i%4 == 1 }},
		{name: "two triggers", opt: Azure2019Options{Triggers: []string{"http", "queue"}}, want: func(i int) bool { return i%4 == 0 || i%4 == 2 }},
		{name: "app prefix", opt: Azure2019Options{Apps: []string{"app03"}}, want: func(i int) bool { return i%13 == 3 }},
		{name: "app and trigger", opt: Azure2019Options{Apps: []string{"app03"}, Triggers: []string{"http"}}, want: func(i int) bool { return i%13 == 3 && i%4 == 0 }},
		{name: "first 3 http", opt: Azure2019Options{Functions: 3, Triggers: []string{"http"}}, want: func(i int) bool { return i%4 == 0 && i < 12 }},
		{name: "sample 50", opt: Azure2019Options{Sample: 50, SampleSeed: 1}, n: 50},
		{name: "sample 20 timers", opt: Azure2019Options{Sample: 20, SampleSeed: 1, Triggers: []string{"timer"}}, n: 20},
		{name: "sample more than there are", opt: Azure2019Options{Sample: 1000, SampleSeed: 1}, want: func(int) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(t, day, tt.opt)
			if tt.want == nil {
				if len(got) != tt.n {
					t.Fatalf("kept %d functions, want %d", len(got), tt.n)
				}
				if !slices.IsSorted(got) {
					t.Errorf("sample not in file order: %v", got)
				}
				for _, name := range got {
					var i int
					fmt.Sscanf(name, "fn%d", &i)
					if len(tt.opt.Triggers) > 0 && i%4 != 1 {
						t.Errorf("sample kept %s, not a timer", name)
					}
				}
				return
			}
			var want []string
			for i := range 400 {
				if tt.want(i) {
					want = append(want, fmt.Sprintf("fn%04d", i))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("kept %d functions %v..., want %d", len(got), got[:min(5, len(got))], len(want))
			}
		})
	}
}

// TestAzure2019Sample checks that a sample is fixed by its seed, does not
// depend on the order of the file's rows, and is spread over the file.
func TestAzure2019Sample(t *testing.T) {
	fwd, rev := syntheticDay(2000, false), syntheticDay(2000, true)
	a := names(t, fwd, Azure2019Options{Sample: 200, SampleSeed: 7})
	b := names(t, fwd, Azure2019Options{Sample: 200, SampleSeed: 7})
	c := names(t, fwd, Azure2019Options{Sample: 200, SampleSeed: 8})
	r := names(t, rev, Azure2019Options{Sample: 200, SampleSeed: 7})
	if !slices.Equal(a, b) {
		t.Error("the same seed drew two samples")
	}
	if slices.Equal(a, c) {
		t.Error("seeds 7 and 8 drew the same sample")
	}
	slices.Sort(r)
	if !slices.Equal(a, r) {
		t.Error("the sample depends on the order of the rows")
	}
	// Uniform: each quarter of the file holds about a quarter (50 ± 4σ).
	var quarters [4]int
	for _, name := range a {
		var i int
		fmt.Sscanf(name, "fn%d", &i)
		quarters[i/500]++
	}
	for q, n := range quarters {
		if n < 28 || n > 72 {
			t.Errorf("quarter %d holds %d of the 200 sampled, want about 50", q, n)
		}
	}
}

func TestAzure2019FilterSpecs(t *testing.T) {
	inv, _, _ := samplePaths(t)
	tests := []struct{ name, spec, err, want string }{
		{name: "trigger", spec: "azure2019:invocations=" + inv + ",triggers=queue", want: ",triggers=queue,spread="},
		{name: "app and sample", spec: "azure2019:invocations=" + inv + ",apps=7/4,sample=2,sample-seed=3", want: ",apps=7/4,sample=2,sample-seed=3,"},
		{name: "sample and functions", spec: "azure2019:invocations=" + inv + ",sample=2,functions=3", err: "not both"},
		{name: "bad sample", spec: "azure2019:invocations=" + inv + ",sample=many", err: "sample: want an integer"},
		{name: "bad sample seed", spec: "azure2019:invocations=" + inv + ",sample=2,sample-seed=x", err: "sample-seed: want an integer"},
		{name: "no match", spec: "azure2019:invocations=" + inv + ",triggers=cron", err: "no function selected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.spec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(p.String(), tt.want) {
				t.Errorf("spec %q, want it to contain %q", p.String(), tt.want)
			}
			again, err := Parse(p.String())
			if err != nil || again.String() != p.String() {
				t.Fatalf("round trip of %q: %v", p.String(), err)
			}
		})
	}
}
