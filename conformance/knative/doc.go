// Package knative checks scalebench's KPA against Knative Serving's own
// autoscaler code (knative.dev/serving v0.50.0, pkg/autoscaler/scaling and
// aggregation): the same per-second stats and ready-pod counts go into both
// and every tick's decision must match. It is a separate module so the
// project itself does not depend on Knative's dependency tree; `make test`
// runs it.
//
// It also benchmarks both in one run, so the speed-up is a ratio measured on
// the same machine at the same moment.
package knative
