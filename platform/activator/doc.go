// Package activator is the local platform's activator: the reverse proxy in
// front of a revision's pods. It routes each request to a ready pod with a
// free containerConcurrency slot (power of two choices on in-flight counts),
// buffers requests in a bounded FIFO while no pod has room, pokes the
// autoscaler when a request has to wait, answers 503 with a plain reason when
// the queue is full or the wait times out, and retries once on another pod a
// request that never reached its pod.
//
// When capacity exists the path is one atomic load of the pod list, a slot
// taken on each of at most a few pods and the queue-proxy's forward.
package activator
