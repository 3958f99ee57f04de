package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/loadgen"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

func newLoadCmd() *cobra.Command {
	var (
		targets      []string
		headers      []string
		pattern      string
		scenarioFile string
		duration     time.Duration
		out          string
		force        bool
		seed         int64
		workers      int
		maxWorkers   int
		timeout      time.Duration
		method       string
		allowRemote  bool
		stdTransport bool
	)
	cmd := &cobra.Command{
		Use:   "load --target URL --pattern SPEC --duration D --out DIR",
		Short: "Drive real HTTP endpoints with a traffic pattern, open loop, and record every request",
		Long: `load sends the traffic of a pattern (or of a scenario) to real HTTP endpoints
with vegeta, open loop: every request leaves at its intended time whatever the
responses do. The arrivals are the simulator's, for the same pattern and seed.

It writes DIR/requests.csv (one row per request as it completes: intended and
actual send time, latency from each, status, bytes, instance, cold start) and
DIR/timeseries.csv (one row per second: t, arrivals planned, completed,
errors, cold starts, p50/p95/p99 latency in ms of the requests that finished in
that second) and DIR/summary.json (the simulator's latency and cold-start keys
plus requested_rate, achieved_rate and errors by status). Latency is measured from
the intended send time, so a stalled target cannot hide behind a stalled
generator (coordinated omission); sent_latency_ms is from the actual send.

Cold starts are read from the target's X-Instance, X-Cold-Start and X-Init-Ms
response headers (cmd/fn sets them); with only X-Instance, the first request
seen from an instance counts as its cold start. An arrival's work is passed as
?work=DURATION.

The attack warns when it falls 10% behind the plan over a 5 s window and aborts
at 20%, or when arrivals are still unsent at the planned end (exit 1, reason in
summary.json). Ctrl-C or SIGTERM stops it and still writes both files, with
"aborted": "interrupted". Requests unanswered 1 s after the planned end (0.5 s
after a stop) are cut off and counted under "unfinished", so a run ends on time.
A rate above 100,000/s per core is refused, as is a --max-workers the
open-files limit has no room for.

Targets must be on this machine (loopback) unless --allow-remote is given.
With --scenario, map each function to a URL with --target name=URL; a bare
--target URL serves every function not named.`,
		Example: `  scalebench load --target http://127.0.0.1:8080/ --pattern constant:rate=100 --duration 1m --out runs/c100
  scalebench load --target http://127.0.0.1:8080/ --pattern onoff:rate=50,on=1m,off=3m --duration 10m --out runs/onoff --seed 3
  scalebench load --scenario scenarios/library/spike.yaml --target api=http://127.0.0.1:8080/ --out runs/spike`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := loadgen.Config{
				Method: method, Workers: workers, MaxWorkers: maxWorkers, Timeout: timeout,
				AllowRemote: allowRemote, StdTransport: stdTransport, Seed: seed, Duration: duration, Log: os.Stderr,
			}
			if out == "" {
				return badinput.Wrap(errors.New("--out DIR is required"))
			}
			for _, h := range headers {
				k, v, err := loadgen.ParseHeader(h)
				if err != nil {
					return badinput.Wrap(fmt.Errorf("--header: %w", err))
				}
				if cfg.Header == nil {
					cfg.Header = http.Header{}
				}
				cfg.Header.Add(k, v)
			}
			if len(targets) == 0 {
				return badinput.Wrap(errors.New("--target is required"))
			}
			switch {
			case scenarioFile != "" && pattern != "":
				return badinput.Wrap(errors.New("give --pattern or --scenario, not both"))
			case scenarioFile != "":
				sc, err := scenarios.Load(scenarioFile)
				if err != nil {
					return badinput.Wrap(err)
				}
				names := make([]string, len(sc.Functions))
				for i, f := range sc.Functions {
					names[i] = f.Name
				}
				if cfg.URLs, err = loadgen.MapTargets(names, targets); err != nil {
					return badinput.Wrap(err)
				}
				cfg.Pattern, cfg.Scenario = sc.Traffic, sc.Name
				if !cmd.Flags().Changed("duration") {
					cfg.Duration = sc.Duration
				}
				if !cmd.Flags().Changed("seed") {
					cfg.Seed = sc.Seed
				}
			case pattern != "":
				p, err := traffic.Parse(pattern)
				if err != nil {
					return badinput.Wrap(err)
				}
				cfg.Pattern, cfg.Scenario = p, "pattern "+p.String() // as sim and run name it, so gate can pair them
				for _, t := range targets {
					name, u, err := loadgen.ParseTarget(t)
					if err != nil {
						return badinput.Wrap(err)
					}
					if name != "" {
						return badinput.Wrap(fmt.Errorf("--target %s: function names need --scenario; with --pattern give URLs (one URL serves every function, or one per function in order)", t))
					}
					cfg.URLs = append(cfg.URLs, u)
				}
			default:
				return badinput.Wrap(errors.New("--pattern SPEC or --scenario FILE is required"))
			}
			if cfg.Duration <= 0 {
				return badinput.Wrap(fmt.Errorf("--duration %s: want more than 0", cfg.Duration))
			}
			if term.IsTerminal(int(os.Stderr.Fd())) {
				cfg.Progress = os.Stderr
			}

			// The generator allocates little that lives (histograms, one
			// in-flight record per request), so trading heap for fewer GC
			// cycles buys CPU for sending at high rates.
			debug.SetGCPercent(400)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			sum, err := loadgen.RunToDir(ctx, cfg, out, outOptions(cmd, force)...)
			if badinput.Is(err) {
				return badinput.Wrap(err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d requests, achieved %.1f/s of %.1f/s requested, p99 %.1f ms (from intended send), %d cold starts, %d errors\n",
				out, sum.Requests, sum.AchievedRate, sum.RequestedRate, sum.Latency.P99, sum.ColdStarts, sum.Requests-sum.Completed)
			if sum.Aborted != "" {
				return fmt.Errorf("aborted: %s (summary written to %s)", sum.Aborted, out)
			}
			if err := loadgen.Reached(sum); err != nil {
				return fmt.Errorf("%w (summary written to %s)", err, out)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&targets, "target", nil, "target URL, or name=URL for a scenario's function (repeatable)")
	f.StringArrayVar(&headers, "header", nil, `request header "Name: value" sent with every request (repeatable); "Host: NAME" picks an ingress's virtual host`)
	f.StringVar(&pattern, "pattern", "", "traffic pattern spec, e.g. constant:rate=100, poisson:rate=50, onoff:rate=50,on=1m,off=3m")
	f.StringVar(&scenarioFile, "scenario", "", "scenario file whose traffic to send (instead of --pattern)")
	f.DurationVar(&duration, "duration", 0, "how long to send traffic (default: the scenario's duration)")
	f.StringVar(&out, "out", "", "output directory for requests.csv, timeseries.csv and summary.json (written atomically)")
	addForce(cmd, &force)
	f.Int64Var(&seed, "seed", 1, "seed for the arrivals (same seed, same requests as the simulator)")
	f.IntVar(&workers, "workers", 0, "initial vegeta workers (default 16)")
	f.IntVar(&maxWorkers, "max-workers", 0, "most requests in flight, and so connections (default 10000, bounded by the open-files limit)")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "longest a request may take")
	f.StringVar(&method, "method", "GET", "HTTP method")
	f.BoolVar(&allowRemote, "allow-remote", false, "allow targets that are not on this machine")
	f.BoolVar(&stdTransport, "std-transport", false, "send http:// requests through net/http's Transport instead of the leaner built-in HTTP/1.1 one")
	return cmd
}
