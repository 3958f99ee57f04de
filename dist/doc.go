// Package dist holds the random distributions a scenario names for service
// times and pod start-up phases: fixed, uniform, exponential, lognormal and
// empirical percentiles (as the Azure traces give durations).
//
// Draws come from a caller-owned *rand.Rand (math/rand/v2), so a seed fixes
// every sample and the simulator stays deterministic.
package dist
