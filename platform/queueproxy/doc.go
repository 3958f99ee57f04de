// Package queueproxy is the per-pod queue-proxy of the local platform: an
// in-process reverse proxy in front of one cmd/fn process that enforces the
// revision's containerConcurrency, measures the pod's per-second average and
// peak concurrency and its request count, and exports them as Prometheus
// metrics on the pod's own registry — the numbers Knative's queue-proxy
// reports to its autoscaler.
//
// The activator takes a slot with TryAcquire and hands the request over with
// Forward, so routing and admission share one counter; ServeHTTP is the
// stand-alone path that waits in a bounded queue for a slot.
package queueproxy
