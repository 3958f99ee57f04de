// Package runner runs one scenario under one policy on Kubernetes, the
// way the bench's local backend runs it on the embedded platform: the
// kubernetes bench backend (`scalebench run --backend kubernetes`) is a thin
// adapter over Run.
//
// A run:
//
//  1. brings up its world: by default the project's own control plane
//     (kube/cluster) and a scalebench node (kube/node) whose pods are
//     processes, in a state directory of its own, all torn down when the run
//     ends; or, given a rest.Config, an existing cluster, which is left as it
//     was found but for the run's namespace (deleted at the end);
//  2. creates a fresh namespace and, per scenario function, a Deployment of
//     the function (Objects: cmd/fn, or the user's command through the node's
//     image mapping) and its Service; a function with revisions is one
//     Deployment and Service per revision (targets.Revisions), the later
//     ones created at their deployAt;
//  3. starts the autoscaling: for kpa, knative and the other scalebench
//     policies, scalebench's controller (kube/controller) in this process,
//     the Deployments opted in by annotation; for hpa, the real thing, an
//     autoscaling/v2 HorizontalPodAutoscaler on the metrics adapter's Pods
//     metric (scalebench metrics-adapter, a child process registered by
//     APIService) decided by kube-controller-manager;
//  4. starts the activator (kube/activator) on 127.0.0.1, which routes each
//     function's requests to its Service's ready endpoints, buffers while
//     there are none and pokes the controller: there is no kube-proxy, and
//     every policy's requests take this one path;
//  5. waits until every Deployment's initial pods are ready and routed,
//     puts each function's split in force on its activator (SetRoute, the
//     schedule's time 0 the traffic's start), drives the scenario's traffic
//     with the load generator (loadgen), and reads pods, pod-seconds and
//     start-ups from the API (kube/podwatch's Tracker), cold starts and
//     latency from the requests, per revision by the X-Revision each
//     response names.
//
// The own control plane needs pod IPs the API server accepts in
// EndpointSlices, so it must run inside a network namespace where
// 198.18.0.0/16 is local (kube/netns): Run refuses otherwise. The bench
// backend re-executes scalebench there.
package runner
