// Package results is the shape of every run's outcome: the summary.json that
// the simulator, the load generator, the local platform and the bench write,
// and the streaming latency histograms it is built from.
//
// Histograms keep memory constant however many requests a run has: a
// billion-request simulation summarises into the same few kilobytes as a
// thousand-request one. Summaries carry their histograms in compact form so a
// CI gate can compare whole distributions, not single percentiles.
package results
