// Package platform is the embedded local backend: a small Knative-shaped
// serverless platform on one machine. Each function is a revision with a
// pod manager (platform/pods) running cmd/fn processes, a queue-proxy per
// pod (platform/queueproxy) and an activator (platform/activator) as its
// ingress, and the autoscaler controller (autoscaler/controller) drives the
// named policy against it.
//
// A function with several revisions is a Route: each revision has its own
// pods, ingress and autoscaler loop, and requests to the function are split
// across them by the schedule of package route, the simulator's own, run on
// the wall clock from the traffic's start (BeginRoutes). A revision gets
// traffic only once Ready, and one at 0% scales to zero through its
// policy's normal path.
//
// Platform implements autoscaler.Metrics and autoscaler.Scaler — the same
// two interfaces a Kubernetes backend implements with scraped pod metrics and
// the scale subresource — so the policy code is identical in every world.
//
// The ingress follows the request path the policy declared in the registry
// (autoscaler.PathOf), as the simulator does, for the Lambda path: a
// keepalive revision is served by Lambda's front end (activator.Lambda),
// which starts an instance for each request that finds none idle and
// retires each on its keep-alive; the controller only records it
// (AddSized). Every other path is served by the activator, which always
// stays in the request path (it is the only ingress);
// Decision.ActivatorInPath is recorded, not acted on. How the gateway and
// direct paths differ from the simulator's is in docs/readme-platform.md.
package platform
