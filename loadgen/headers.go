package loadgen

import "github.com/scalebench/scalebench/internal/wire"

// Response headers by which a function workload tells the load generator
// about the instance that served a request (see internal/wire). cmd/fn sets
// them; any target may.
const (
	HeaderInstance  = wire.HeaderInstance
	HeaderColdStart = wire.HeaderColdStart
	HeaderInitMs    = wire.HeaderInitMs
	HeaderRevision  = wire.HeaderRevision
)

// WorkParam is the query parameter carrying an arrival's service work as a
// Go duration (work=250ms); cmd/fn busy-waits or sleeps that long.
const WorkParam = wire.WorkParam
