// Package targets renders the four targets of a kind run for one function of
// a scenario: the same function image behind
//
//   - a Knative Service, scaled by Knative's own KPA;
//   - an OpenFaaS CE function, scaled by its gateway and alert rule;
//   - a Deployment under an autoscaling/v2 HorizontalPodAutoscaler on the
//     metrics adapter's per-pod concurrency (or CPU), scaled by
//     kube-controller-manager's own HPA controller;
//   - a Deployment under scalebench's controller.
//
// Each peer is configured from the scenario's entry for the matching policy
// (knative, openfaas-ce, hpa, and kpa or knative for scalebench's
// controller), by the peer's own names: Knative's annotations and
// config-autoscaler keys, OpenFaaS's com.openfaas.scale labels, the HPA's
// spec.behavior. A setting a peer cannot take per function (a cluster-wide
// flag, say) is reported in Notes, never dropped silently, so the report can
// say exactly how each peer was set up.
package targets
