// Package replay answers "what would each autoscaler have done with my
// production metrics?": it reads a per-second metric series and drives any
// policy through it open loop (ready pods come from the series, not from the
// policy's own decisions), producing one row per tick.
package replay
