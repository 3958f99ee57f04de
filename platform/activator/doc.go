// Package activator is the local platform's ingress: the reverse proxy in
// front of a revision's pods, one per request path a policy can declare
// (autoscaler.RequestPath).
//
// Activator is Knative's: it routes each request to a ready pod with a free
// containerConcurrency slot (Knative's load-balancing policy for the
// limit), buffers requests in a bounded FIFO while no pod has room, pokes
// the autoscaler when a request has to wait, answers 503 with a plain
// reason when the queue is full or the wait times out, and retries once on
// another pod a request that never reached its pod. When capacity exists
// the path is one atomic load of the pod list, a slot taken on each of at
// most a few pods and the queue-proxy's forward.
//
// Lambda is AWS Lambda's front end, with the simulator's rules: one request
// per instance, the most recently used idle instance first, a new instance
// bound to each request that finds none idle, a bounded FIFO only at the
// concurrency limit, and each instance retired exactly keep-alive after it
// went idle. It sizes the revision itself; no autoscaler tick does.
//
// Both integrate the revision's stat (in-flight plus waiting requests) at
// every change and count their error answers the same way (ingress.go).
package activator
