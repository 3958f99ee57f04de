// Package scenarios defines and loads scalebench's experiments: a documented
// YAML schema (functions, traffic, duration, seed, policies, backends, SLOs;
// see SCHEMA.md) and a library of scenarios a platform engineer recognises
// (library/). A scenario is defined once and means the same to the
// simulator, the load generator and every backend.
//
// Load and Parse report every mistake as a *badinput.Error naming the file, the
// line and the key, because a scenario is user input and a bench that fails
// ten minutes in on a typo wastes the whole run.
package scenarios
