// Package controller is the real-time autoscaler loop of the platforms: per
// revision it records a Stat from Metrics every second, ticks the Policy
// every Interval (and at once when a Record or a request-path Poke asks for
// it), applies valid decisions through the Scaler, exports them as
// Prometheus gauges and keeps every tick for timeseries.csv. A revision the
// platform sizes per request (the Lambda path, AddSized) is recorded the
// same way, with no policy behind it.
//
// Policies are pure and single-threaded; the controller is where the
// goroutines and the locking live. Step does whatever is due at a given time,
// so tests (and any caller with its own clock) drive it deterministically;
// Run calls Step from the wall clock.
package controller
