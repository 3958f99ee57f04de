// Package adapter is scalebench's custom metrics adapter: it serves
// custom.metrics.k8s.io (through sigs.k8s.io/custom-metrics-apiserver and
// the k8s.io/metrics types) with two per-pod metrics read from the
// queue-proxies, so that an ordinary autoscaling/v2 HorizontalPodAutoscaler
// with a Pods metric scales a Deployment on them and kube-controller-
// manager's own HPA controller does the deciding:
//
//   - concurrency: the pod's average in-flight requests;
//   - rps: the pod's requests per second.
//
// Both are averaged over the last Window (15 s by default, the resolution
// of metrics-server that the HPA model's metric-window stands for), from
// the same per-second scrape the controller uses (kube/scrape). A pod that
// has not been scraped successfully in the window has no value, and the HPA
// treats it as a pod without metrics, as it does with metrics-server.
//
// RBAC and registration: deploy/metrics-adapter (an APIService for
// v1beta2.custom.metrics.k8s.io, pods list/watch, and the delegated
// authentication and authorization every aggregated API server needs).
package adapter
