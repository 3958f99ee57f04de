package wire

// Response headers about the instance that served a request. cmd/fn sets
// them, the local platform's queue-proxy sets them for any function, and
// any target may.
const (
	// HeaderInstance names the instance (pod, container, process) that
	// served the request. Alone, it lets the load generator infer a cold
	// start as the first request it sees from an instance.
	HeaderInstance = "X-Instance"
	// HeaderColdStart is "true" when this request was the instance's
	// first, "false" otherwise. It overrides inference from HeaderInstance.
	HeaderColdStart = "X-Cold-Start"
	// HeaderInitMs is the instance's initialisation time in milliseconds.
	HeaderInitMs = "X-Init-Ms"
	// HeaderRevision names the revision a platform's route sent the
	// request to, when the function has several: the load generator
	// breaks its figures down by it.
	HeaderRevision = "X-Revision"
)

// WorkParam is the query parameter carrying an arrival's service work as a
// Go duration (work=250ms); cmd/fn busy-waits or sleeps that long.
const WorkParam = "work"
