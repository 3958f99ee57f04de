package gate

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/results"
)

// Options say which runs Match lets through to be gated.
type Options struct {
	// AllowMismatch gates paired runs that differ in kind, scenario,
	// policy, seed or duration (--allow-mismatch).
	AllowMismatch bool
	// AllowAborted gates runs that did not finish: interrupted, or
	// stopped because the load generator fell behind (--allow-aborted).
	AllowAborted bool
}

// Load reads a summary.json for the gate, a single run's or a bench's, and
// refuses one holding a value no run can have (results.Summary.Validate):
// pod_seconds -5 would otherwise pass any bound.
func Load(path string) ([]results.Summary, error) {
	runs, err := results.ReadSummaries(path)
	if err != nil {
		return nil, badinput.Wrap(err)
	}
	for i := range runs {
		if err := runs[i].Validate(); err != nil {
			if len(runs) > 1 {
				return nil, badinput.Errorf("%s: run %d (%s): %w", path, i, strings.TrimSuffix(runKey(runs[i]), "@"), err)
			}
			return nil, badinput.Errorf("%s: %w", path, err)
		}
	}
	return runs, nil
}

// Match decides whether the runs of base and cur may be gated against each
// other. A pair that differs in what ran (kind, scenario, policy, seed,
// duration: a kpa run against a knative one, rate 10 against rate 20, a
// simulation against a load test) compares nothing, and a run that was
// aborted measured only part of its plan; either is bad input unless opt
// allows it, and then comes back as a warning to print, so it never passes
// silently. Check's rows say the same.
func Match(base, cur []results.Summary, opt Options) (warnings []string, err error) {
	pairs, _ := pairRuns(base, cur)
	var mismatched, aborted []string
	for _, p := range pairs {
		if p.base != nil {
			if d := differences(p.base, p.cur); len(d) > 0 {
				mismatched = append(mismatched, p.name+": "+strings.Join(d, ", "))
			}
		}
		aborted = append(aborted, abortedNotes(p)...)
	}
	var refused []string
	if len(mismatched) > 0 {
		msg := "baseline and current runs do not match (" + strings.Join(mismatched, "; ") + ")"
		if opt.AllowMismatch {
			warnings = append(warnings, msg+"; gated anyway (--allow-mismatch)")
		} else {
			refused = append(refused, msg+"; compare like with like, or give --allow-mismatch")
		}
	}
	if len(aborted) > 0 {
		msg := strings.Join(aborted, "; ") + ": not a complete measurement"
		if opt.AllowAborted {
			warnings = append(warnings, msg+"; gated anyway (--allow-aborted)")
		} else {
			refused = append(refused, msg+"; run it again, or give --allow-aborted")
		}
	}
	if len(refused) > 0 {
		return warnings, badinput.Errorf("%s", strings.Join(refused, "; "))
	}
	return warnings, nil
}

// differences lists how two paired runs differ in what ran.
func differences(b, c *results.Summary) []string {
	var d []string
	if b.Kind != c.Kind {
		d = append(d, fmt.Sprintf("kind %s vs %s", b.Kind, c.Kind))
	}
	if b.Scenario != c.Scenario {
		d = append(d, fmt.Sprintf("scenario %q vs %q", b.Scenario, c.Scenario))
	}
	if b.Policy != c.Policy {
		d = append(d, fmt.Sprintf("policy %s vs %s", b.Policy, c.Policy))
	}
	if b.Seed != c.Seed {
		d = append(d, fmt.Sprintf("seed %d vs %d", b.Seed, c.Seed))
	}
	if math.Abs(b.DurationSeconds-c.DurationSeconds) > 1e-9*max(b.DurationSeconds, c.DurationSeconds) {
		d = append(d, fmt.Sprintf("duration %s vs %s", seconds(b.DurationSeconds), seconds(c.DurationSeconds)))
	}
	return d
}

// abortedNotes names the runs of a pair that were aborted.
func abortedNotes(p pairing) []string {
	var out []string
	if p.base != nil && p.base.Aborted != "" {
		out = append(out, fmt.Sprintf("baseline run %s was aborted (%s)", p.name, p.base.Aborted))
	}
	if p.cur.Aborted != "" {
		out = append(out, fmt.Sprintf("current run %s was aborted (%s)", p.name, p.cur.Aborted))
	}
	return out
}

func seconds(s float64) string { return time.Duration(s * float64(time.Second)).String() }
