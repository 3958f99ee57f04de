// Package route is a function's Knative Route as a schedule: the traffic
// split across its revisions that the scenario's split steps ask for, as far
// as the revisions they name are Ready, and Knative's gradual rollout
// (rollout-duration) stepping traffic onto the newest revision.
//
// The simulator and the local platform both drive a Route, so that a
// scenario's schedule means the same in every world: the simulator calls it
// from its events on the virtual clock, the local platform from its route
// loop on the wall clock, offset from the traffic's start. A Route is pure
// (no goroutines, no clock of its own): callers pass the time and say which
// revisions are Ready.
package route
