package traffic

import "time"

// Arrival is one request of a traffic stream.
type Arrival struct {
	// At is the request's intended send time, from the start of the run.
	At time.Duration
	// Function indexes the function the request is for (0 for a single
	// pattern; a trace's functions are numbered in file order).
	Function int
	// Work is the service work the request asks for (e.g. a duration drawn
	// from the trace's percentiles); 0 means the function's own default.
	Work time.Duration
}

// Source yields arrivals in non-decreasing At order. Next must not allocate:
// the simulator calls it millions of times a second.
type Source interface {
	Next() (Arrival, bool)
}

// Pattern is a traffic shape.
type Pattern interface {
	// Arrivals starts a deterministic stream of arrivals for seed that ends
	// before duration; a duration ≤ 0 means no end (a run stopped by a
	// signal), except for a trace, which ends with its data.
	Arrivals(seed int64, duration time.Duration) Source
	// Rate is the planned request rate (requests per second) at offset t,
	// summed over functions.
	Rate(t time.Duration) float64
	// String describes the pattern in the spec syntax Parse accepts.
	String() string
}

// Splitter is traffic whose functions' arrivals are independent streams:
// FunctionArrivals(seed, duration, fn) yields exactly the arrivals of
// Arrivals(seed, duration) that are for function fn, in the same order, or
// ok false when this traffic cannot be split.
type Splitter interface {
	FunctionArrivals(seed int64, duration time.Duration, fn int) (src Source, ok bool)
}

var _ Splitter = (*Trace)(nil)
