// Package simulator replays a scenario's traffic through a simulated
// serverless platform driven by any registered autoscaler policy, and
// measures cold starts, latency and cost in seconds of wall time.
//
// The engine is a seeded discrete-event simulation on a virtual clock: the
// same scenario, policy and seed give byte-identical summaries, time series
// and request logs. Policies are the ones in package autoscaler, driven
// through the same Policy interface the real platforms use: Record once per
// simulated second with the revision-wide Stat, Tick every Interval() and
// right after a poke, Poke whenever an arriving request finds no free slot.
//
// # Request path
//
// Each function is one revision with its own policy instance, or several
// revisions, each with its own policy instance and pods, behind a route
// that splits arrivals by the scenario's schedule (package route, which
// the local platform drives too: a step gives traffic only to Ready
// revisions, a gradual rollout steps as Knative's route reconciler does;
// the draw comes from the route's own seeded stream, see route.go). A request
// that finds a ready pod with a free slot (containerConcurrency, 0 meaning
// unlimited) starts at once; free pods are taken round robin. Otherwise the
// routing depends on the request path the policy declared in the registry
// (autoscaler.RequestPath), because the platforms differ:
//
//   - activator (kpa, knative, and a policy that is not registered): while
//     the last decision puts the activator in the path, or no pod is ready,
//     the request waits in the activator buffer, bounded by
//     Activator.QueueDepth (default 10000) and Activator.Timeout (default
//     300 s, the revision timeout); otherwise it queues at the pods'
//     queue-proxies (unbounded, same timeout).
//   - direct (hpa): no activator. With no ready pod the Service has no
//     endpoints and the request is dropped at once; otherwise it queues at
//     the pods.
//   - gateway (openfaas-ce, openfaas-pro): with no ready replica the gateway
//     holds the request and polls every 100 ms, so it is released on its
//     first poll after a replica is ready; otherwise it queues at the pods.
//     The timeout defaults to 60 s, the gateway's upstream timeout.
//   - lambda (keepalive): see below.
//
// Queued requests are served first in, first out by whichever pod frees a
// slot: the pods' queues are modelled as one shared queue (an ideal load
// balancer), which is what makes the M/M/c validation exact.
//
// # The Lambda path
//
// The platform, not a periodic decision, sizes the revision, from the
// policy's autoscaler.Instances. An instance serves one request at a time
// (containerConcurrency is not used). A request that finds an idle
// instance takes the most recently used one. A request that finds none is
// bound to a new instance and waits for exactly that one, even if another
// instance frees up first: it is a cold start, and with one request per
// instance cold_starts equals pod_starts. When Max instances exist it waits
// in the front end (bounded and timed out like the activator) for the
// first instance that frees, and is not a cold start. Each instance but
// the Min provisioned ones (deployed ready) is retired exactly KeepAlive
// after it went idle, to the nanosecond. Ticks and Records are not used;
// desired is the instances alive. The keepalive policy's routing=first-free
// option instead holds every request in the front end until any instance
// is free and follows the policy's Tick (scalebench's model before it
// followed Lambda, and what a Knative-style platform running this policy
// does).
//
// # Cold start
//
// A request is a cold start when it was served by a pod that became ready
// after the request arrived: it had to wait for a pod to start (on the
// Lambda path: when it was bound to its own new instance). A request that
// waited only for a busy pod to free a slot is queued, not cold.
// cold_latency_ms summarises the cold starts' latencies.
//
// # Pods
//
// A new pod goes through Startup's phases (schedule, image pull, container
// start, app init, each a distribution) and becomes ready at the first
// readiness probe, every ReadinessPeriod from its creation, after they end.
// On scale-down the engine removes starting pods first (newest first), then
// ready pods with the fewest in-flight requests (newest first), as the local
// platform does (autoscaler.ScaleDownOrder); a removed
// pod takes no new requests, finishes its in-flight ones and is then gone.
// pod_seconds counts every pod from creation until it is gone;
// idle_pod_seconds counts the time ready pods served no request.
//
// The platform has a capacity, Options.MaxPods (DefaultMaxPods, 100000):
// pods of all functions beyond it are not created, as on a full cluster,
// and a Lambda request that would need one waits for an instance to free.
// When it binds, the summary's pod_limit and pods_refused say so.
//
// # Metrics
//
// Each second the engine gives every policy the exact time-average of
// in-flight plus waiting requests over that second, its instantaneous
// maximum, the arrivals, and CPU as 1000 millicores per executing request
// (service time is CPU time). Policies model their own scrape and sync
// delays.
//
// # Start and end
//
// At time 0 each policy ticks once with no data (on the Lambda path: the
// provisioned instances are deployed); a valid decision's pods start
// already ready (a deployed revision). An invalid one leaves hpa and
// openfaas functions with the one replica their Deployments start with, and
// the others at zero. The run goes on after the traffic ends until every
// request has completed or been dropped, and stops at the next whole second,
// or DrainLimit (24 h) after the traffic ends, reporting the requests still
// unfinished then (a service time no platform runs).
package simulator
