// Package netns runs this program again inside a network namespace of its
// own, where 198.18.0.0/16 (the RFC 2544 benchmarking range, LocalRange) is
// local. The API server refuses loopback addresses in EndpointSlices, so a
// node whose pods live on loopback gets IPs but Services get no endpoints;
// inside the namespace pods take addresses from LocalRange instead, which
// the API server accepts and which no packet can leave the machine by: the
// namespace has no interface but its loopback.
//
// Both the end-to-end harness (kube/e2e) and the Kubernetes bench backend
// (bench, `scalebench run --backend kubernetes`) use it: the parent calls
// Run, which re-executes /proc/self/exe in a new namespace with a marker in
// its environment and a run id every descendant inherits; the child sees
// Inside, calls Setup and does its work. After the child exits, the parent
// lists any process still carrying the run id (Processes): none may be
// left. Creating a network namespace needs root (CAP_SYS_ADMIN).
package netns
