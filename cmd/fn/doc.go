// Command fn is the function workload the local platform scales: an HTTP
// server that takes a configured init time before it is ready (sleep or CPU
// spin), does configured work per request (sleep, CPU spin, allocation; per
// request from the query parameters work=, spin= and alloc= so a trace's
// durations pass through), and names itself in response headers so the load
// generator can see cold starts.
//
// The pod manager hands fn an already-bound listener (--listen-fd) and a pipe
// (--ready-fd) on which fn writes one line once it serves: readiness is then
// signalled, not discovered by polling. Run alone it binds --addr on
// 127.0.0.1. On SIGTERM it stops accepting, finishes in-flight requests and
// exits.
package main
