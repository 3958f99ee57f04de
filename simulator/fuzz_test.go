package simulator

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/scenarios"
)

// FuzzRunRevisions runs every short, light scenario the parser accepts
// (revisions, splits, rollouts, tags) through the simulator: a user's
// scenario may be rejected only as bad input, never with a panic, and every
// arrival lands in exactly one revision.
func FuzzRunRevisions(f *testing.F) {
	f.Add([]byte(canary))
	f.Add([]byte("duration: 40s\ntraffic: constant:rate=20\npolicies: [hpa]\nfunctions:\n  - name: a\n    revisions: [{name: v1}, {name: v2, tag: t, tagTraffic: constant:rate=2}]\n    split: [{at: 5s, rollout: v2, duration: 10s}, {at: 12s, percent: {v1: 30, v2: 70}}]\n"))
	f.Add([]byte("duration: 30s\ntraffic: poisson:rate=10\npolicies: [keepalive]\nfunctions:\n  - name: a\n    revisions: [{name: v1}, {name: v2, deployAt: 2s}]\n    split: [{at: 3s, rollout: v2}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := scenarios.Parse("fuzz.yaml", data)
		if err != nil || sc.Duration > 10*time.Minute || sc.Traffic.Rate(0) > 200 || sc.Traffic.Rate(sc.Duration/2) > 200 {
			return
		}
		for _, pol := range sc.Policies {
			res, err := Run(context.Background(), sc, pol, Options{})
			if err != nil {
				var be *badinput.Error
				if !errors.As(err, &be) {
					t.Fatalf("%s: error %T %v is not bad input", pol.Label, err, err)
				}
				continue
			}
			var sum int64
			for _, r := range res.Summary.Revisions {
				sum += r.Requests
			}
			if len(res.Summary.Revisions) > 0 && len(sc.Functions) == 1 && sum != res.Summary.Requests {
				t.Fatalf("%s: revisions have %d requests, the run %d", pol.Label, sum, res.Summary.Requests)
			}
		}
	})
}
