// Package pods is the local platform's pod manager: it keeps a revision's
// desired number of cmd/fn processes running on loopback ports, reconciling
// level-triggered like a ReplicaSet controller.
//
// Each pod gets an already-bound listener (so there is no port race) and a
// pipe on which fn says it serves, which makes the pod ready at once (fn
// writes it only when it serves on that listener, so a probe could only
// confirm it at the cost of a connection on every cold start); only without
// that signal does the manager fall back to probing every ProbeInterval. Crashed pods are replaced. Scale-down and shutdown drain: the
// OnStopping hook takes the pod out of routing and waits for its in-flight
// requests before SIGTERM, and SIGKILL follows only after StopTimeout. Every
// pod runs in its own process group so nothing it forks outlives it.
package pods
