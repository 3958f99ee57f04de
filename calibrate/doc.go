// Package calibrate checks the simulator against the local platform: it runs
// a scenario for real (platform.RunScenario), measures the platform's own
// parameters — each pod's start-up from the scale-up decision to readiness,
// and the request path's overhead with a direct-vs-proxied probe — then
// simulates the same scenario with those measured distributions in place of
// the scenario's start-up and on top of its service time, and compares cold
// starts, p95 latency and pod-seconds.
package calibrate
