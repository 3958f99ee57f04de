// Package dist holds the random distributions a scenario names for service
// times and pod start-up phases: fixed, uniform, exponential, lognormal and
// empirical percentiles (as the Azure traces give durations).
//
// Draws come from a caller-owned *rand.Rand (math/rand/v2), so a seed fixes
// every sample and the simulator stays deterministic.
package dist

import (
	"math/rand/v2"
	"time"
)

// Dist is a distribution of durations.
type Dist interface {
	// Sample draws one value. It must not allocate.
	Sample(r *rand.Rand) time.Duration
	// Mean is the distribution's mean.
	Mean() time.Duration
	// String is the spec Parse accepts for this distribution.
	String() string
}
