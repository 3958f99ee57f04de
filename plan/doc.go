// Package plan finds the cheapest autoscaler settings that meet a set of
// SLOs on a scenario, by simulation, and re-checks them as traffic grows.
// It is what `scalebench plan` prints and writes.
//
// # Search space
//
// For the KPA (kpa, knative) the knobs are the per-pod target (as
// target-utilization-percentage of containerConcurrency when every function
// has one, else an absolute target), the stable window, the panic threshold,
// min-scale and scale-to-zero-pod-retention-period; for keepalive,
// keep-alive and min. Each knob's levels are ordered from least to most
// capacity. The cluster-wide scale-to-zero-grace-period is left at its
// default: Knative documents it as a bound on network programming, not a
// way to keep pods. The kpa policy is planned with its extensions off,
// because they have no Knative annotation and the output must be reproducible
// on a cluster.
//
// # Method
//
//  1. Grid: the policy's defaults, then a coarse grid over the knobs that
//     move cost most (target, retention or keep-alive, min-scale), with the
//     stable window and panic threshold at their defaults.
//  2. Refinement: from the three best candidates, every move of one level
//     along one knob (and halving or doubling min-scale), repeated until no
//     move is new or the budget is spent. "Best" is cheapest among those
//     meeting every SLO, else smallest relative excess over a bound, so the
//     same loop walks towards feasibility when nothing meets the SLO yet.
//  3. Pruning by monotonicity on every knob but the stable window (a longer
//     window keeps pods longer but also lags a ramp): a point with at least
//     the capacity of a feasible one is never cheaper and is skipped, and a
//     point with at most the capacity of an infeasible one cannot be
//     feasible and is skipped. With min-scale above zero the retention is
//     irrelevant and is set to 0s, so such points are not simulated twice.
//
// Points are simulated in waves of eight across GOMAXPROCS workers; a wave's
// members depend only on the results of earlier waves, so a scenario and
// seed give the same plan on any machine. The budget bounds the simulations
// of the whole plan: three fifths for the search, the rest shared by the
// traffic scales.
//
// # Cost and scaling
//
// Cost is pod-seconds (pods starting, ready or draining), or GB-seconds
// when asked (each function's pod-seconds times its memory). Pod-hours per
// day scale the simulated pod-seconds by 86400 s over the scenario's
// duration. At ×2, ×5 and ×10 traffic (ScaleTraffic) the chosen settings
// are simulated again; when they miss the SLO there the search runs again
// (grid and refinement) on the scaled traffic within its share of the
// budget.
//
// One seed is one traffic sample: margins are for that sample, not
// confidence bounds.
package plan
