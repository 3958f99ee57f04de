// Package gate decides whether a run regressed against a baseline, for CI:
// it parses the allowed bounds (metric=10% or metric=absolute), pairs the
// runs of two summary.json files by scenario, policy and backend, and
// checks every bound. Simulated runs are deterministic and compared as
// numbers; measured runs (kind load or run) are noisy, so a latency metric
// there counts as regressed only when it is over its bound and a one-sided
// Mann–Whitney U test on the two latency histograms finds the current
// distribution stochastically larger at Alpha.
//
// Before any of that, Load refuses a summary holding a value no run can
// have, and Match refuses pairs that compare nothing (another kind,
// scenario, policy, seed or duration) and runs that were aborted, unless
// Options allow them; allowed, they are reported, never passed silently.
package gate
