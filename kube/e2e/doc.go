// Package e2e is the harness for the Kubernetes backend's end-to-end tests:
// a package's TestMain calls Main, which brings up a real control plane
// (kube/cluster) and a scalebench node (kube/node) once for the package's
// tests, and proves afterwards that no process of the run is left behind.
//
// The tests run in a network namespace of their own. There 198.18.0.0/16
// (the RFC 2544 benchmarking range) is made local, so pods get IPs the API
// server accepts in EndpointSlices (it refuses loopback addresses), and no
// packet of the tests can leave the machine: the namespace has no interface
// but its loopback. Creating it needs root (CI and make e2e run as root).
// The namespace and the process accounting below are kube/netns's, which
// the kubernetes bench backend uses too.
//
// Every process the run starts carries SCALEBENCH_E2E_RUN=<id> in its
// environment; after the tests, and again outside the namespace after the
// test binary's child exits, any live process with that mark fails the run.
//
// The tests themselves are in files with the e2e build tag, so `make test`
// does not start a control plane; `make e2e` runs them.
package e2e
