// Package activator is the request path of the Kubernetes backend while a
// revision may have no pods: an HTTP proxy that routes /NAMESPACE/NAME/...
// to the ready endpoints of Service NAME (the revision's Deployment has the
// same name), read from the EndpointSlices the endpointslice controller
// publishes, buffers requests while there are none, and pokes the
// controller (POST /poke on every controller replica; the standbys answer
// 503) so the revision scales from zero.
//
// The routing, buffering and poking are the local platform's activator
// (platform/activator), unchanged: each ready endpoint becomes a
// queue-proxy client (platform/queueproxy) forwarding to the pod's
// queue-proxy, so the load balancing and the containerConcurrency slots are
// the same code in both worlds. It stays in the path (Knative's
// target-burst-capacity -1); taking it out is a router's job, which this
// backend does not have.
//
// A Route (SetRoute) splits a function's requests, /NAMESPACE/FUNCTION/...,
// across its revisions' Services by a scenario's split schedule, with the
// simulator's meaning (package route): one Deployment per
// revision, the split applied here. Deployed, the routes are ConfigMaps
// (Config.WatchRoutes): the ConfigMap FUNCTION labelled RouteLabel holds
// the revisions and the schedule (ParseRoute), as a Knative Route is an
// object of its own beside its Revisions.
//
// RBAC: endpointslices list/watch in the namespace, and configmaps
// list/watch for the routes (deploy/controller).
package activator
