// Package controller is scalebench's autoscaler on Kubernetes, in the
// shape of Kubernetes' sample-controller: shared informers on Deployments
// and Pods feed a rate-limited workqueue of Deployment keys, and an
// idempotent sync per key decides whether the Deployment is a revision
// under our control (it opts in with autoscaling.knative.dev/class, see
// ParseAnnotations), which policy it gets, and which of its pods are ready
// and where their queue-proxies are.
//
// The decision is not made here. Each revision's policy is the same
// autoscaler/ code the simulator and the local platform run, driven by the
// same loop (autoscaler/controller); this package only supplies that loop's
// Metrics (kube/scrape, the ready pods' queue-proxies scraped every second)
// and Scaler (ready and starting pods from the informer cache, and writes
// to the Deployment's scale subresource). A Deployment without our class is
// never written to.
//
// The activator's poke (scale from zero) arrives at Poke, over HTTP at
// POST /poke. API errors are never fatal: a missing permission is a log
// line naming the verb and resource, a Warning Event on the Deployment and
// scalebench_controller_api_errors_total, and the controller keeps going.
// Leader election on a Lease (RunWithLeaderElection) lets several replicas
// stand by; only the leader scales.
//
// RBAC: the Role in deploy/controller/rbac.yaml lists what this package
// calls: deployments list/watch, deployments/scale update, pods
// list/watch, events create/patch, for leader election leases
// get/create/update, and endpointslices list/watch for the activator that
// `scalebench controller --activator-addr` runs beside it (kube/activator).
package controller
