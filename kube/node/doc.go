// Package node is a kubelet for scalebench's functions, built on
// virtual-kubelet: it registers a Node and runs every Pod scheduled to it as
// real processes, the function (cmd/fn, through platform/pods) behind the
// pod's queue-proxy (platform/queueproxy), on an address of the pod's own.
//
// What a pod is here:
//   - Its one container's image names a binary: scalebench.dev/NAME[:tag]
//     runs BinDir/NAME (scalebench.dev/fn is bin/fn). An image in
//     Config.Commands (with any tag or digest) runs the user's command it
//     maps to instead, under the runtime contract (its port in $PORT on
//     127.0.0.1, a TCP or HTTP readiness probe): that is how a user's
//     image runs here, where there is no container runtime. Any other
//     image fails the pod with reason ErrImageNeverPull: nothing is ever
//     pulled.
//   - Its IP is allocated from the node's pod CIDR. The queue-proxy serves the
//     function on POD_IP:PORT (the container's first port, 8080 if none) and
//     its Prometheus metrics on POD_IP:9091/metrics; fn itself listens on
//     127.0.0.1 behind it, as a user container does behind Knative's
//     queue-proxy.
//   - Its start-up phases come from the pod's annotations, the names a
//     scenario's startup block uses (startup.scalebench.dev/schedule,
//     image-pull, container-start and app-init, each a dist spec): the node
//     waits the first three before it starts the process and passes app-init
//     to fn as --init.
//   - It is Ready when fn has said it serves and its /healthz answered, that
//     is when the queue-proxy has a pod to forward to; a crashed fn is
//     restarted (restartPolicy Always) and the pod is not Ready meanwhile.
//   - Deleting it takes it out of Ready, drains the queue-proxy's in-flight
//     requests, sends fn SIGTERM and, after the grace period, SIGKILL; then
//     its status turns terminal and virtual-kubelet removes it.
//
// The API server rejects loopback addresses in EndpointSlices, so a pod CIDR
// on 127.0.0.0/8 gives pods IPs but Services no endpoints; the end-to-end
// harness (kube/e2e) and the kubernetes bench backend (kube/runner) run the
// node in a network namespace of their own (kube/netns) where 198.18.0.0/16
// (the RFC 2544 benchmarking range) is local.
package node
