// Package traffic defines what a scenario's load is, once, for both the
// simulator and the load generator: patterns (constant, ramp, steps, sine,
// spike, Poisson, on/off) and trace replays (Azure Functions 2019 and 2021)
// as deterministic streams of arrivals.
//
// The simulator pulls arrivals in virtual time; the load generator turns the
// same stream into a vegeta Pacer. A seed fixes every random draw, so the
// same scenario means the same requests in both worlds.
package traffic
