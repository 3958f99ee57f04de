package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/scalebench/scalebench/traffic"
)

// The load figures compare this generator with a bare vegeta attack
// (default settings) against a trivial server in its own process, on this
// machine. They take minutes and the whole CPU, so they run only when asked:
//
//	SCALEBENCH_LOADFIGURES=1 go test -run TestLoadFigures -v -timeout 30m ./loadgen/
//
// SCALEBENCH_LOADFIGURES_RATES (e.g. "10000,20000,30000") and
// SCALEBENCH_LOADFIGURES_SECONDS (default 30 for the hold, 10 per step)
// narrow a run; SCALEBENCH_LOADFIGURES_ONLY=vegeta or =scalebench runs one
// generator (for profiling); SCALEBENCH_LOADFIGURES_MAXWORKERS sets
// scalebench's MaxWorkers.
func TestLoadFigures(t *testing.T) {
	if os.Getenv("SCALEBENCH_LOADFIGURES") == "" {
		t.Skip("set SCALEBENCH_LOADFIGURES=1 to measure the load generator (minutes, whole CPU)")
	}
	url := startTrivialServer(t)
	hold := 30 * time.Second
	step := 10 * time.Second
	if s := os.Getenv("SCALEBENCH_LOADFIGURES_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("SCALEBENCH_LOADFIGURES_SECONDS=%q", s)
		}
		hold, step = time.Duration(n)*time.Second, time.Duration(n)*time.Second
	}
	rates := []int{10000, 15000, 20000, 25000, 30000, 35000, 40000}
	if s := os.Getenv("SCALEBENCH_LOADFIGURES_RATES"); s != "" {
		rates = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 {
				t.Fatalf("SCALEBENCH_LOADFIGURES_RATES=%q", s)
			}
			rates = append(rates, n)
		}
	}

	t.Logf("%-9s %7s %6s %10s %10s %6s %10s %9s %9s  %s", "generator", "rate", "secs", "sent", "achieved", "held", "errors", "cpu µs/req", "p99 ms", "note")
	report := func(f figure) {
		t.Logf("%-9s %7d %6.0f %10d %10.1f %6v %10d %9.1f %9.2f  %s", f.who, f.rate, f.dur.Seconds(), f.sent, f.achieved, f.held(), f.errors, f.cpuPerReq(), f.p99ms, f.note)
	}
	only := os.Getenv("SCALEBENCH_LOADFIGURES_ONLY")
	bareOK, oursOK := only != "scalebench", only != "vegeta"
	// The 30 s hold at 10,000/s, each generator.
	if bareOK {
		report(runBareVegeta(t, url, 10000, hold))
	}
	if oursOK {
		report(runScalebench(t, url, 10000, hold))
	}
	// The ladder: the highest rate each holds within 1%. A generator that
	// failed a rate is not asked for a higher one.
	for _, r := range rates {
		if bareOK {
			f := runBareVegeta(t, url, r, step)
			report(f)
			bareOK = f.held()
			if !bareOK && oursOK {
				// A collapsing vegeta churns through connections and
				// leaves thousands of loopback ports in TIME_WAIT for
				// 60 s; without the wait the next run finds no free
				// ports ("cannot assign requested address").
				time.Sleep(61 * time.Second)
			}
		}
		if oursOK {
			f := runScalebench(t, url, r, step)
			report(f)
			oursOK = f.held()
		}
		if !bareOK && !oursOK {
			break
		}
	}
}

type figure struct {
	who      string
	rate     int
	dur      time.Duration
	sent     int64
	achieved float64
	errors   int64
	cpu      time.Duration
	p99ms    float64
	note     string
}

// held is the figure's test: the achieved rate within 1% of the plan and
// no more than 1% errors.
func (f figure) held() bool {
	return f.achieved >= 0.99*float64(f.rate) && float64(f.errors) <= 0.01*float64(f.sent)
}

func (f figure) cpuPerReq() float64 {
	if f.sent == 0 {
		return 0
	}
	return float64(f.cpu/time.Nanosecond) / 1000 / float64(f.sent)
}

// cpuTime is this process's user+system CPU so far (getrusage). The target
// runs in another process, so it is the generator's own.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startTrivialServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "trivialserver")
	build := exec.Command("go", "build", "-o", bin, "./internal/trivialserver")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the trivial server: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("trivial server address: %v", err)
	}
	return "http://" + strings.TrimSpace(addr) + "/"
}

// runBareVegeta is vegeta as its CLI would run it: default attacker, a
// constant pacer, one static target, results reduced by vegeta.Metrics.
func runBareVegeta(t *testing.T, url string, rate int, d time.Duration) figure {
	runtime.GC()
	before := cpuTime(t)
	// NewAttacker's own default client, built here only so its connections
	// can be closed afterwards: left open they would hold descriptors in
	// this process during the next generator's run.
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{LocalAddr: &net.TCPAddr{IP: vegeta.DefaultLocalAddr.IP}, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     vegeta.DefaultTLSConfig,
		MaxIdleConnsPerHost: vegeta.DefaultConnections,
		MaxConnsPerHost:     vegeta.DefaultMaxConnections,
	}
	defer tr.CloseIdleConnections()
	atk := vegeta.NewAttacker(vegeta.Client(&http.Client{Timeout: vegeta.DefaultTimeout, Transport: tr}))
	targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: url})
	var m vegeta.Metrics
	for res := range atk.Attack(targeter, vegeta.ConstantPacer{Freq: rate, Per: time.Second}, d, "bare") {
		m.Add(res)
	}
	m.Close()
	f := figure{who: "vegeta", rate: rate, dur: d, sent: int64(m.Requests), cpu: cpuTime(t) - before}
	// vegeta's Rate is requests over the span of sends; over the planned
	// duration it is comparable with ours.
	f.achieved = float64(m.Requests) / max(d, m.Duration).Seconds()
	f.errors = int64(float64(m.Requests) * (1 - m.Success))
	f.p99ms = float64(m.Latencies.P99) / 1e6
	if len(m.Errors) > 0 {
		f.note = m.Errors[0]
		if len(f.note) > 60 {
			f.note = f.note[:60]
		}
	}
	return f
}

func runScalebench(t *testing.T, url string, rate int, d time.Duration) figure {
	p, err := traffic.Parse(fmt.Sprintf("constant:rate=%d", rate))
	if err != nil {
		t.Fatal(err)
	}
	csvFile, err := os.Create(filepath.Join(t.TempDir(), "requests.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer csvFile.Close()
	// As scalebench load does (cmd/scalebench/load.go): little of what the
	// generator allocates lives, so fewer GC cycles buy sending CPU.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	runtime.GC()
	before := cpuTime(t)
	seriesFile, err := os.Create(filepath.Join(t.TempDir(), "timeseries.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer seriesFile.Close()
	// What scalebench load records: requests.csv and timeseries.csv.
	cfg := Config{URLs: []string{url}, Pattern: p, Duration: d, Requests: csvFile, TimeSeries: seriesFile}
	if s := os.Getenv("SCALEBENCH_LOADFIGURES_MAXWORKERS"); s != "" {
		if cfg.MaxWorkers, err = strconv.Atoi(s); err != nil {
			t.Fatalf("SCALEBENCH_LOADFIGURES_MAXWORKERS=%q", s)
		}
	}
	rep, err := Attack(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Summary
	f := figure{who: "scalebench", rate: rate, dur: d, sent: s.Requests, achieved: s.AchievedRate,
		errors: s.Requests - s.Completed, cpu: cpuTime(t) - before, p99ms: s.Latency.P99}
	f.note = fmt.Sprintf("send delay p99 %.2fms", float64(rep.SendDelay.Quantile(0.99))/1e6)
	if len(s.Errors) > 0 {
		f.note += fmt.Sprintf(", errors %v", s.Errors)
	}
	if s.Aborted != "" {
		f.note = "aborted: " + s.Aborted[:min(len(s.Aborted), 60)]
		f.achieved = min(f.achieved, float64(s.Requests)/d.Seconds())
	}
	return f
}
