// Package loadgen drives real HTTP endpoints with the same traffic patterns
// the simulator uses and records what every request experienced.
//
// It is built on vegeta as a library: a Pacer that yields the exact intended
// send times of a traffic.Source, a Targeter that maps each arrival's
// function to a URL and its work to the query parameter "work" (a Go
// duration, e.g. ?work=250ms, read by cmd/fn), and vegeta's Attacker.
//
// Latency is measured twice: from the intended send time (start +
// Arrival.At), which is free of coordinated omission, and from the actual
// send. Cold starts are read from the response headers HeaderInstance,
// HeaderColdStart and HeaderInitMs, or inferred from the first sight of an
// instance id. Every request is streamed to a CSV file as it completes;
// summaries come from constant-memory histograms.
package loadgen
