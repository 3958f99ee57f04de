// Package podwatch counts a revision's pods from the Kubernetes API: a
// shared informer on a label selector, sampled once a second into the pod
// figures every backend reports (pod starts, pod-seconds, most pods, ready
// pods over time). A run on a cluster (kind, or any other) reads its cost
// from what the API server says existed, not from a platform's own
// bookkeeping, so Knative, OpenFaaS, the HPA and scalebench's controller are
// measured the same way.
//
// Tracker follows the same pods event by event instead, timing each pod's
// first sight, readiness and end on this process's clock: the kubernetes
// bench backend (kube/runner) takes its pod-seconds, pod starts and
// calibration start-ups from it (Span, At).
package podwatch
