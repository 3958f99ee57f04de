package traffic

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

const sample2021 = `app,func,end_timestamp,duration
a1,f1,10.5,0.5
a1,f2,11.0,3.0
a2,f1,12.0,0.25
a1,f1,12.5,0.5
a1,f2,70.0,1.0
`

func write2021(t *testing.T, body string) string {
	t.Helper()
	p := t.TempDir() + "/invocations2021.csv"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAzure2021(t *testing.T) {
	path := write2021(t, sample2021)
	tests := []struct {
		name  string
		opt   Azure2021Options
		want  []Arrival
		funcs []string
	}{
		{name: "all, sorted by arrival", opt: Azure2021Options{}, funcs: []string{"a1/f1", "a1/f2", "a2/f1"},
			want: []Arrival{
				{At: 0, Function: 1, Work: 3 * time.Second},
				{At: 2 * time.Second, Function: 0, Work: 500 * time.Millisecond},
				{At: 3750 * time.Millisecond, Function: 2, Work: 250 * time.Millisecond},
				{At: 4 * time.Second, Function: 0, Work: 500 * time.Millisecond},
				{At: 61 * time.Second, Function: 1, Work: time.Second},
			}},
		{name: "first function only", opt: Azure2021Options{Functions: 1}, funcs: []string{"a1/f1"},
			want: []Arrival{
				{At: 0, Function: 0, Work: 500 * time.Millisecond},
				{At: 2 * time.Second, Function: 0, Work: 500 * time.Millisecond},
			}},
		{name: "window and compression", opt: Azure2021Options{Start: 2 * time.Second, Length: 10 * time.Second, Compression: 2},
			funcs: []string{"a1/f1", "a1/f2", "a2/f1"},
			want: []Arrival{
				{At: 0, Function: 0, Work: 500 * time.Millisecond},
				{At: 875 * time.Millisecond, Function: 2, Work: 250 * time.Millisecond},
				{At: time.Second, Function: 0, Work: 500 * time.Millisecond},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := LoadAzure2021(path, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range tr.Functions() {
				names = append(names, f.Name)
			}
			if strings.Join(names, " ") != strings.Join(tt.funcs, " ") {
				t.Errorf("functions %v, want %v", names, tt.funcs)
			}
			var got []Arrival
			s := tr.Arrivals(1, 0)
			for a, ok := s.Next(); ok; a, ok = s.Next() {
				got = append(got, a)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("arrivals %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("arrival %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			viaPath, err := Parse("azure2021:path=" + path)
			if err != nil || len(viaPath.(*Trace).Functions()) != 3 {
				t.Errorf("path= alias: %v", err)
			}
			again, err := Parse(tr.String())
			if err != nil || again.String() != tr.String() {
				t.Errorf("spec %q does not load again: %v", tr.String(), err)
			}
		})
	}
}

func TestAzure2021Functions(t *testing.T) {
	tr, err := LoadAzure2021(write2021(t, sample2021), Azure2021Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := tr.Functions()[1] // a1/f2: durations 3 s and 1 s
	if f.Duration == nil || f.Duration.Mean() != 2*time.Second {
		t.Errorf("a1/f2 duration %v, want mean 2s", f.Duration)
	}
	// Two arrivals over a 61 s window.
	if want := 2 / (61*time.Second + 1).Seconds(); math.Abs(f.MeanRate-want) > 1e-9 {
		t.Errorf("MeanRate %v, want %v", f.MeanRate, want)
	}
	if r := tr.Rate(30 * time.Second); math.Abs(r-4.0/60) > 1e-9 {
		t.Errorf("Rate in the first minute %v, want 4/60", r)
	}
}

func TestAzure2021Errors(t *testing.T) {
	tests := []struct{ name, body, err string }{
		{"empty", "", "invocations2021.csv:1: want a header"},
		{"bad header", "a,b,c,d\n", "want a header with app,func,end_timestamp,duration"},
		{"bad duration", "app,func,end_timestamp,duration\na,f,1,1\na,f,2,x\n", `invocations2021.csv:3: column 4 ("x"): want a non-negative duration in seconds`},
		{"negative end", "app,func,end_timestamp,duration\na,f,-1,1\n", `invocations2021.csv:2: column 3 ("-1"): want an end timestamp`},
		{"short row", "app,func,end_timestamp,duration\na,f,1\n", "invocations2021.csv:2: want 4 columns"},
		{"no rows", "app,func,end_timestamp,duration\n", "want at least one invocation row"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadAzure2021(write2021(t, tt.body), Azure2021Options{})
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.err)
			}
		})
	}
}

func FuzzAzure2021(f *testing.F) {
	f.Add(sample2021)
	f.Add("app,func,end_timestamp,duration\na,f,1e3,0.001\n")
	f.Fuzz(func(t *testing.T, body string) {
		tr, err := readAzure2021(strings.NewReader(body), "fuzz.csv", Azure2021Options{})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		prev := time.Duration(-1)
		s := tr.Arrivals(1, 0)
		for a, ok := s.Next(); ok; a, ok = s.Next() {
			if a.At < prev || a.Function >= len(tr.Functions()) || a.Work < 0 {
				t.Fatalf("bad arrival %+v after %v", a, prev)
			}
			prev = a.At
		}
	})
}
