// Package platform is the embedded local backend: a small Knative-shaped
// serverless platform on one machine. Each function is a revision with a
// pod manager (platform/pods) running cmd/fn processes, a queue-proxy per
// pod (platform/queueproxy) and an activator (platform/activator) as its
// ingress, and the autoscaler controller (autoscaler/controller) drives the
// named policy against it.
//
// Platform implements autoscaler.Metrics and autoscaler.Scaler — the same
// two interfaces a Kubernetes backend implements with scraped pod metrics and
// the scale subresource — so the policy code is identical in every world.
//
// Locally the activator always stays in the request path (it is the only
// ingress); Decision.ActivatorInPath is recorded, not acted on.
package platform
