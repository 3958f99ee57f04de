// Package cluster starts and stops a Kubernetes control plane on this
// machine: etcd, kube-apiserver, kube-controller-manager and kube-scheduler
// as child processes on free loopback ports, with certificates generated at
// start. It is the "real API server" the Kubernetes backend's end-to-end
// tests run against, and what `scalebench cluster up` starts.
//
// The Kubernetes binaries are built from the k8s.io/kubernetes module at a
// pinned release by the separate module in test/controlplane (`make
// controlplane`); etcd is Debian's etcd-server. Every child runs in its own
// process group with Pdeathsig, so neither a Stop nor the death of the
// process that started them leaves anything behind.
//
// kube-controller-manager runs only the controllers a serverless backend
// needs: deployment, replicaset, endpointslice, garbage-collector,
// serviceaccount-token and horizontal-pod-autoscaling (plus the
// serviceaccount and namespace controllers, without which namespaces
// cannot be created or deleted).
package cluster
