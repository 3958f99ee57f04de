package replay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
)

func TestParseSeriesErrors(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty file", "", "in.csv:1: empty file"},
		{"missing header column", "t,concurrency\n0,1\n", "in.csv:1: header lacks column \"ready\""},
		{"unknown column", "t,concurrency,ready,foo\n", "in.csv:1: unknown column \"foo\""},
		{"non-numeric cell", "t,concurrency,ready\n0,1,1\n1,lots,1\n", "in.csv:3: column concurrency: want a number from 0 to 1e+09, got \"lots\""},
		{"fractional t", "t,concurrency,ready\n0.5,1,1\n", "in.csv:2: column t: want whole seconds"},
		{"t not increasing", "t,concurrency,ready\n0,1,1\n2,1,1\n2,1,1\n", "in.csv:4: t = 2 does not increase"},
		{"short row", "t,concurrency,ready\n0,1\n", "in.csv:2: 2 cells, want 3"},
		{"negative ready", "t,concurrency,ready\n0,1,-1\n", "in.csv:2: column ready: want a pod count from 0 to 100000"},
		{"NaN", "t,concurrency,ready\n0,NaN,1\n", "in.csv:2: column concurrency"},
		// Two rows must not ask for 9e9 ticks (4 GB of output).
		{"huge gap in t", "t,concurrency,ready\n0,5,1\n9223372035,5,1\n", "in.csv:3: t = 9223372035 is 9223372035 s after the first row's t = 0; a series spans at most 1209600 s"},
		{"span just over 336h", "t,concurrency,ready\n100,5,1\n1209701,5,1\n", "in.csv:3: t = 1209701 is 1209601 s after"},
		{"cell of 1e308", "t,concurrency,ready\n0,1e308,1\n", "in.csv:2: column concurrency: want a number from 0 to 1e+09, got \"1e308\""},
		{"huge rps", "t,concurrency,ready,rps\n0,1,1,1e10\n", "in.csv:2: column rps"},
		{"huge ready", "t,concurrency,ready\n0,1,100000000\n", "in.csv:2: column ready: want a pod count from 0 to 100000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSeries("in.csv", strings.NewReader(c.in))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("err = %v, want prefix %q", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestParseSeriesColumnsInAnyOrder(t *testing.T) {
	s, err := ParseSeries("in.csv", strings.NewReader("# comment\nready,rps,t,concurrency\n3,10,0,4.5\n\n3,12,1,5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s[1].T != 1 || s[1].Ready != 3 || s[1].Stat.RPS != 12 || s[1].Stat.Concurrency != 5 {
		t.Errorf("parsed %+v", s)
	}
}

func TestRunKPATicksEveryTwoSeconds(t *testing.T) {
	var in strings.Builder
	in.WriteString("t,concurrency,ready\n")
	for s := 0; s < 10; s++ {
		in.WriteString(strings.Join([]string{itoa(s), "140", "1"}, ",") + "\n")
	}
	series, err := ParseSeries("in.csv", strings.NewReader(in.String()))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := autoscaler.New("knative", nil)
	var out bytes.Buffer
	if err := Run(context.Background(), p, series, &out); err != nil {
		t.Fatal(err)
	}
	// 140 in flight on 1 pod with a target of 70: 2 pods, and 2/1 reaches
	// the 200% panic threshold; burst capacity floor(100 - 211 - 140).
	want := Header + "\n" +
		"0,2,2,1,140,140,-251\n" +
		"2,2,2,1,140,140,-251\n" +
		"4,2,2,1,140,140,-251\n" +
		"6,2,2,1,140,140,-251\n" +
		"8,2,2,1,140,140,-251\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestRunPokeAddsARowAtZero(t *testing.T) {
	in := "t,concurrency,ready\n0,0,0\n1,0,0\n2,0,0\n3,2,0\n4,2,0\n"
	series, err := ParseSeries("in.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := autoscaler.New("knative", map[string]string{"initial-scale": "0", "allow-zero-initial-scale": "true"})
	var out bytes.Buffer
	if err := Run(context.Background(), p, series, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var ts []string
	for _, l := range lines[1:] {
		ts = append(ts, strings.SplitN(l, ",", 2)[0])
	}
	if got := strings.Join(ts, " "); got != "0 2 3 4" {
		t.Errorf("tick times %q, want \"0 2 3 4\" (poke at 3):\n%s", got, out.String())
	}
	if !strings.HasPrefix(lines[3], "3,1,1,") {
		t.Errorf("poke row %q, want one pod at t=3", lines[3])
	}
}

func TestRunTicksThroughGaps(t *testing.T) {
	series, err := ParseSeries("in.csv", strings.NewReader("t,concurrency,ready\n0,70,1\n7,70,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := autoscaler.New("knative", nil)
	var out bytes.Buffer
	Run(context.Background(), p, series, &out)
	if n := strings.Count(out.String(), "\n"); n != 1+4 { // ticks 0, 2, 4, 6
		t.Errorf("%d lines, want header + 4 ticks:\n%s", n, out.String())
	}
}

func TestParseSeriesLimitsAccepted(t *testing.T) {
	// Unix timestamps are fine: only the span is bounded.
	in := "t,concurrency,ready,cpu\n1700000000,1e9,100000,1e9\n1701209600,0,0,0\n"
	s, err := ParseSeries("in.csv", strings.NewReader(in))
	if err != nil || len(s) != 2 {
		t.Fatalf("series at the limits refused: %v", err)
	}
}

// huge is a policy whose decision carries values far beyond four decimals'
// rounding range.
type huge struct{}

func (huge) Name() string                           { return "huge" }
func (huge) Interval() time.Duration                { return time.Second }
func (huge) Record(time.Time, autoscaler.Stat) bool { return false }
func (huge) Poke(time.Time, float64) bool           { return false }
func (huge) Tick(time.Time, autoscaler.Pods) autoscaler.Decision {
	return autoscaler.Decision{Valid: true, Desired: 1, Stable: 1e300, PanicValue: -1e20, ExcessBurstCapacity: 123.456789}
}

func TestRunNeverPrintsInf(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), huge{}, []Sample{{T: 0}, {T: 1}}, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "Inf") || !strings.Contains(out.String(), ",123.4568\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, _ := autoscaler.New("keepalive", nil)
	err := Run(ctx, p, []Sample{{T: 0}, {T: MaxSpan}}, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func itoa(i int) string { return string(rune('0'+i/10%10)) + string(rune('0'+i%10)) }

func FuzzParseSeries(f *testing.F) {
	f.Add("t,concurrency,ready\n0,1,1\n1,2.5,1\n")
	f.Add("t,concurrency,ready,rps\n0,1,1,3\n")
	f.Add("ready,t,concurrency\n1,0,0\n")
	f.Add("t,concurrency,ready\n0,1e308,1\n")
	f.Add("t,concurrency,ready\n0,5,1\n9223372035,5,1\n")
	f.Add("t,concurrency,ready,max_concurrency,cpu\n1700000000,1e9,100000,1e9,1e9\n1701209600,0,0,0,0\n")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSeries("f.csv", strings.NewReader(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.csv:") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error not one line naming the file: %q", err)
			}
			return
		}
		for i := 1; i < len(s); i++ {
			if s[i].T <= s[i-1].T {
				t.Fatalf("accepted non-increasing t")
			}
		}
		// Accepted input means bounded work: the replay ticks at most
		// every second of MaxSpan, plus one row per sample.
		if len(s) > 0 && s[len(s)-1].T-s[0].T > MaxSpan {
			t.Fatalf("accepted a span of %d s", s[len(s)-1].T-s[0].T)
		}
		for _, name := range []string{"kpa", "keepalive"} {
			p, _ := autoscaler.New(name, nil)
			var out countingWriter
			if err := Run(context.Background(), p, s, &out); err != nil {
				t.Fatal(err)
			}
			if max := int64(len(s)) + 1; len(s) > 0 {
				max += s[len(s)-1].T - s[0].T + 1
				if out.lines > max {
					t.Fatalf("%s: %d rows for %d samples", name, out.lines, len(s))
				}
			}
			if out.inf {
				t.Fatalf("%s printed Inf or NaN", name)
			}
		}
	})
}

// countingWriter counts the replay's rows and watches for Inf or NaN.
type countingWriter struct {
	lines int64
	inf   bool
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.lines += int64(bytes.Count(p, []byte{'\n'}))
	w.inf = w.inf || bytes.Contains(p, []byte("Inf")) || bytes.Contains(p, []byte("NaN"))
	return len(p), nil
}
