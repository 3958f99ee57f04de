// Package scenarios defines and loads scalebench's experiments: a documented
// YAML schema (functions, traffic, duration, seed, policies, backends, SLOs)
// and a library of scenarios a platform engineer recognises. A scenario is
// defined once and means the same to the simulator, the load generator and
// every backend.
package scenarios
