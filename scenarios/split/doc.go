// Package split is the meaning of a scenario's traffic split: a function's
// Knative Route moving its traffic across revisions by the scenario's
// schedule (scenarios.SplitStep). It is pure (no goroutines, I/O or clock):
// the simulator drives it from its events on the virtual clock, the
// Kubernetes activator from timers on the wall clock, so a scenario's split
// means the same in every world.
//
// Traffic only ever goes to a Ready revision, as in Knative's route
// reconciler, which flattens a Configuration target to the
// Configuration's latest *ready* revision and refuses a Revision target
// that is not ready (knative/serving's pkg/reconciler/route/traffic/
// traffic.go, addConfigurationTarget and addRevisionTarget): a step waits,
// with the previous split in force, until every revision it gives traffic
// to is Ready. What Ready means is the caller's (the simulator: a
// revision's initial-scale pods are ready; the activator: its Service has
// had that many ready endpoints).
//
// A rollout step with a rollout-duration follows Knative's route
// reconciler (pkg/reconciler/route/traffic/rollout.go): 1% first, then,
// once the ingress has that split, the rest in equal steps.
package split
