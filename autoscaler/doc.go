// Package autoscaler is the decision core of scalebench: the KPA (Knative's
// panic/stable-window autoscaler, the project's own) and faithful models of
// the peers users compare it with — the Kubernetes HPA, OpenFaaS CE and Pro,
// and a Lambda-style fixed keep-alive.
//
// Every policy is pure: no goroutines, no I/O and no time.Now(). Time and
// observations are passed in, so the same code runs under the simulator's
// virtual clock, on the embedded local platform and in a Kubernetes
// controller, and a decision can be replayed from recorded metrics
// (scalebench decide).
//
// A policy sees a revision through three calls:
//
//   - Record, once per metric interval (1 s), with that second's Stat;
//   - Poke, from the request path, when requests wait for capacity;
//   - Tick, every Interval(), with the revision's Pods, returning a Decision.
//
// Each policy is registered with the request path of the platform it
// models (RequestPath: activator, gateway, direct or lambda), and every
// world routes requests by that declaration; Register adds a caller's own
// policy the same way. On the lambda path the platform sizes the revision
// per request from the policy's Instances rather than from Tick.
//
// Each policy keeps its whole behaviour — windows, panic, rate limits,
// min/max/initial scale and scale to zero — in one file, so "what will my
// revision do?" is answered by reading one place.
package autoscaler
