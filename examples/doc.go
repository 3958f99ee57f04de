// Package examples holds functions that run on scalebench's local platform
// under its runtime contract (any program serving HTTP on 127.0.0.1:$PORT;
// docs/readme-platform.md), and the test that runs them through the
// commands a user runs: scalebench run, bench and the CI gate.
//
//   - goserver: a tiny Go net/http server;
//   - pyserver: Python's http.server (python3 from Debian).
//
// Both wait a configured init time before they listen, as a function that
// loads its dependencies does, so a cold start's cost is known.
package examples
