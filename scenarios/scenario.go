package scenarios

import (
	"time"

	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/traffic"
)

// Scenario is one experiment: functions, the traffic sent to them, how long
// and with which seed, the policies to compare and the SLOs to judge them by.
// It means the same thing to the simulator, the load generator and the
// platforms.
type Scenario struct {
	Name        string
	Description string
	// File is where the scenario was loaded from ("" when built in code).
	File     string
	Duration time.Duration
	Seed     int64
	// Functions are the revisions under test; Arrival.Function indexes them.
	Functions []Function
	// Traffic is the arrival stream for all functions.
	Traffic traffic.Pattern
	// Policies are the autoscalers to compare, each with its settings.
	Policies []Policy
	// Backends are where the scenario runs: "sim", "local" (and later
	// "kubernetes").
	Backends []string
	// Activator bounds the request buffer in front of a revision.
	Activator Activator
	// SLOs are the objectives a plan or report judges runs by.
	SLOs []results.SLO
	// Rollouts are the ways of rolling out the scenario compares; the
	// policies are already expanded by them (see Policy.Rollout).
	Rollouts []Rollout
}

// Function is one revision's workload and pod model.
type Function struct {
	Name string
	// ContainerConcurrency is the hard in-flight limit per pod; 0 = unlimited.
	ContainerConcurrency int
	// MemoryMB is the pod's memory, for cost in GB-seconds.
	MemoryMB float64
	// Service is the per-request service time used when an arrival carries
	// no Work of its own.
	Service dist.Dist
	// Startup is how long a new pod takes to become ready.
	Startup Startup
	// Command is the user's own function for real platforms (the
	// `function:` block); nil runs the project's cmd/fn.
	Command *Command
	// Revisions, when set, are the function's versions, each with its own
	// pods and policy instance; the fields above are their defaults.
	// Split is the route's schedule of traffic shares between them, its
	// first step at 0. Both are nil for a function of one revision.
	Revisions []Revision
	Split     []SplitStep
}

// Startup is a pod's cold-start path, phase by phase. A nil phase takes no
// time. Readiness is seen at the first probe after AppInit completes.
type Startup struct {
	Schedule        dist.Dist
	ImagePull       dist.Dist
	ContainerStart  dist.Dist
	AppInit         dist.Dist
	ReadinessPeriod time.Duration
}

// Policy is one autoscaler to compare.
type Policy struct {
	// Name is the registry name (autoscaler.Names()).
	Name string
	// Label tells runs of the same policy with different settings apart
	// in reports; it defaults to Name.
	Label    string
	Settings map[string]string
	// Rollout, when set, replaces how the scenario's rollout steps are
	// made (rollout-duration, the new revision's initial scale); Label
	// then ends in "/" and its name.
	Rollout *Rollout
}

// Activator bounds the buffer that holds requests while no pod has room.
type Activator struct {
	// QueueDepth is the most requests held per revision; more are dropped
	// with 503. 0 means the platform default.
	QueueDepth int
	// Timeout is how long a request may wait for capacity before a 503.
	// 0 means the platform default.
	Timeout time.Duration
}
