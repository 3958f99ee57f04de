// Package scrape reads the queue-proxies of a revision's ready pods over
// HTTP every second, parses their Prometheus exposition with
// prometheus/common/expfmt and turns it into the per-second Stat the
// autoscaler records, and into per-pod values for the custom metrics
// adapter.
//
// A pod's concurrency over a second is the rate of its
// scalebench_queueproxy_request_seconds_total counter between two scrapes
// (in-flight requests integrated over time, so the average is exact however
// the scrapes are spaced and whoever else scrapes the pod), its RPS the rate
// of scalebench_queueproxy_requests_total. A pod's first scrape has no rate
// yet; its in-flight gauge stands in for its concurrency. The revision's
// Stat is the sum over its pods.
//
// Which pods to scrape is the caller's business (the controller gives the
// ready pods its informer sees); the scraper only keeps the history it needs
// for the rates of the pods it was last given.
package scrape
