package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	vknode "github.com/virtual-kubelet/virtual-kubelet/node"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/scalebench/scalebench/platform/pods"
	"github.com/scalebench/scalebench/platform/queueproxy"
)

// Config describes a node.
type Config struct {
	// Name is the Node's name; empty means "scalebench".
	Name string
	// Client talks to the API server.
	Client kubernetes.Interface
	// BinDir is where scalebench.dev/NAME images are found; empty means
	// the directory of the running executable (bin/, beside bin/fn).
	BinDir string
	// Commands map container images to users' functions under the
	// runtime contract (docs/readme-platform.md): a pod whose image is a
	// key, with or without a tag or digest, runs that command on
	// 127.0.0.1:$PORT behind its queue-proxy instead of a binary of
	// BinDir. The Kubernetes bench backend fills it from the scenario's
	// function: blocks.
	Commands map[string]*pods.Command
	// PodCIDR is the range pod IPs come from; it must be local on this
	// machine (127.0.0.0/8 always is). Empty means DefaultPodCIDR.
	PodCIDR string
	// Capacity is how many pods the node admits; 0 means 1000.
	Capacity int
	// Output receives the pods' stdout and stderr; nil discards them.
	Output io.Writer
	// Log receives the node's own errors; nil discards them.
	Log io.Writer
}

// DefaultPodCIDR gives pods loopback addresses, which work on any machine
// but which the API server refuses in EndpointSlices (see the package doc).
const DefaultPodCIDR = "127.1.0.0/16"

// Node is a running node.
type Node struct {
	cfg       Config
	ipam      *ipam
	hostIP    string
	transport *http.Transport
	recorder  record.EventRecorder
	events    record.EventBroadcaster

	mu       sync.Mutex
	pods     map[string]*instance // by namespace/name
	notifier func(*corev1.Pod)
	queue    []*corev1.Pod // status updates for notifier, in order
	wake     chan struct{}
	// startups are the first start-up of every pod the node ran, kept
	// after the pod is gone, by namespace/name.
	startups map[string]PodStartup

	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start registers the node and starts running the pods scheduled to it. It
// returns once the Node exists and the pod controller is in sync.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Client == nil {
		return nil, errors.New("node: want a Kubernetes client")
	}
	if cfg.Name == "" {
		cfg.Name = "scalebench"
	}
	if cfg.BinDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cfg.BinDir = filepath.Dir(exe)
	}
	if cfg.PodCIDR == "" {
		cfg.PodCIDR = DefaultPodCIDR
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = 1000
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	ipam, err := newIPAM(cfg.PodCIDR)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	n := &Node{cfg: cfg, ipam: ipam, hostIP: ipam.gateway(), transport: queueproxy.DefaultTransport(),
		pods: map[string]*instance{}, startups: map[string]PodStartup{}, wake: make(chan struct{}, 1), done: make(chan struct{})}

	n.events = record.NewBroadcaster()
	n.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cfg.Client.CoreV1().Events("")})
	n.recorder = n.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "scalebench-node", Host: cfg.Name})

	ctx, cancel := context.WithCancel(ctx)
	n.cancel = cancel
	nc, err := vknode.NewNodeController(vknode.NaiveNodeProvider{}, n.nodeObject(), cfg.Client.CoreV1().Nodes(),
		vknode.WithNodeEnableLeaseV1(cfg.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease), 40))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("node: %w", err)
	}
	podInformers := informers.NewSharedInformerFactoryWithOptions(cfg.Client, time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.Name).String()
		}))
	others := informers.NewSharedInformerFactory(cfg.Client, time.Minute)
	pc, err := vknode.NewPodController(vknode.PodControllerConfig{
		PodClient:         cfg.Client.CoreV1(),
		PodInformer:       podInformers.Core().V1().Pods(),
		EventRecorder:     n.recorder,
		Provider:          n,
		ConfigMapInformer: others.Core().V1().ConfigMaps(),
		SecretInformer:    others.Core().V1().Secrets(),
		ServiceInformer:   others.Core().V1().Services(),
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("node: %w", err)
	}
	go n.deliver(ctx)
	ncDone := make(chan error, 1)
	go func() { ncDone <- nc.Run(ctx) }()
	select {
	case <-nc.Ready():
	case err := <-ncDone:
		cancel()
		return nil, fmt.Errorf("node: register %s: %w", cfg.Name, err)
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	}
	podInformers.Start(ctx.Done())
	others.Start(ctx.Done())
	pcDone := make(chan error, 1)
	go func() { pcDone <- pc.Run(ctx, 8) }()
	select {
	case <-pc.Ready():
	case err := <-pcDone:
		cancel()
		<-ncDone
		return nil, fmt.Errorf("node: pod controller: %w", err)
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	}
	go func() {
		defer close(n.done)
		<-ctx.Done()
		// The pods' processes stop with the node; their API objects stay,
		// as with a kubelet that is shut down.
		n.stopAll()
		errs := []error{<-pcDone, <-ncDone}
		podInformers.Shutdown()
		others.Shutdown()
		n.events.Shutdown()
		for _, e := range errs {
			if e != nil && !errors.Is(e, context.Canceled) {
				n.err = errors.Join(n.err, e)
			}
		}
	}()
	return n, nil
}

// Name is the Node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Stop drains and stops every pod's processes and unregisters nothing: the
// Node and its pods stay in the API, as after a kubelet's shutdown.
func (n *Node) Stop() error {
	n.cancel()
	<-n.done
	return n.err
}

// Done is closed once the node has stopped.
func (n *Node) Done() <-chan struct{} { return n.done }

// Processes lists the pids of the fn processes the node runs now.
func (n *Node) Processes() []int {
	n.mu.Lock()
	all := make([]*instance, 0, len(n.pods))
	for _, in := range n.pods {
		all = append(all, in)
	}
	n.mu.Unlock()
	var pids []int
	for _, in := range all {
		pids = append(pids, in.processes()...)
	}
	sort.Ints(pids)
	return pids
}

// PodStartup is one pod's first way to readiness on this node's clock: the
// node got it (Created), started its process (Exec, after the start-up
// phases; Spawned when the exec returned), the function listened
// (Listening) and the node saw it ready to serve (Ready).
type PodStartup struct {
	Namespace, Name                          string
	Created, Exec, Spawned, Listening, Ready time.Time
}

// Startups lists the first start-up of every pod that became ready on
// this node, including pods since deleted.
func (n *Node) Startups() []PodStartup {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]PodStartup, 0, len(n.startups))
	for _, s := range n.startups {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ready.Before(out[j].Ready) })
	return out
}

func (n *Node) recordStartup(s PodStartup) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := key(s.Namespace, s.Name)
	if _, seen := n.startups[k]; !seen {
		n.startups[k] = s
	}
}

// PodProcesses lists the pids of one pod's running fn processes.
func (n *Node) PodProcesses(namespace, name string) []int {
	n.mu.Lock()
	in := n.pods[key(namespace, name)]
	n.mu.Unlock()
	if in == nil {
		return nil
	}
	return in.processes()
}

func (n *Node) stopAll() {
	n.mu.Lock()
	all := make([]*instance, 0, len(n.pods))
	for _, in := range n.pods {
		all = append(all, in)
	}
	n.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stop()
		}()
	}
	wg.Wait()
}

func (n *Node) nodeObject() *corev1.Node {
	pods := resource.MustParse(fmt.Sprint(n.cfg.Capacity))
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   pods,
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: n.cfg.Name,
			Labels: map[string]string{
				"kubernetes.io/hostname": n.cfg.Name,
				"kubernetes.io/os":       "linux",
				"type":                   "scalebench-node",
			},
		},
		Spec: corev1.NodeSpec{PodCIDR: n.cfg.PodCIDR, PodCIDRs: []string{n.cfg.PodCIDR}},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: n.hostIP},
				{Type: corev1.NodeHostName, Address: n.cfg.Name},
			},
			NodeInfo: corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: "amd64",
				KubeletVersion: "scalebench-node", ContainerRuntimeVersion: "scalebench://processes"},
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "scalebench node runs pods as processes",
					LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory",
					LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure",
					LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
				{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID",
					LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
			},
		},
	}
}

func (n *Node) logf(format string, args ...any) {
	fmt.Fprintf(n.cfg.Log, "node %s: "+format+"\n", append([]any{n.cfg.Name}, args...)...)
}

func (n *Node) event(pod *corev1.Pod, kind, reason, msg string) {
	n.recorder.Event(pod, kind, reason, msg)
	if kind == corev1.EventTypeWarning {
		n.logf("pod %s/%s: %s", pod.Namespace, pod.Name, msg)
	}
}

func key(ns, name string) string { return ns + "/" + name }

// notify queues the pod's current status for the pod controller. Updates
// are delivered in order by one goroutine, since the callback may block.
func (n *Node) notify(in *instance) {
	pod := in.status()
	n.mu.Lock()
	n.queue = append(n.queue, pod)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *Node) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		for {
			n.mu.Lock()
			cb := n.notifier
			if len(n.queue) == 0 || cb == nil {
				n.mu.Unlock()
				break
			}
			pod := n.queue[0]
			n.queue = n.queue[1:]
			n.mu.Unlock()
			cb(pod)
		}
	}
}

// The virtual-kubelet provider: PodLifecycleHandler and PodNotifier.
var (
	_ vknode.PodLifecycleHandler = (*Node)(nil)
	_ vknode.PodNotifier         = (*Node)(nil)
)

// CreatePod starts the pod's processes.
func (n *Node) CreatePod(_ context.Context, pod *corev1.Pod) error {
	k := key(pod.Namespace, pod.Name)
	n.mu.Lock()
	_, exists := n.pods[k]
	n.mu.Unlock()
	if exists {
		return nil
	}
	in, err := n.start(pod)
	if err != nil {
		n.event(pod, corev1.EventTypeWarning, "FailedCreate", err.Error())
		return err
	}
	n.mu.Lock()
	n.pods[k] = in
	n.mu.Unlock()
	n.notify(in)
	return nil
}

// UpdatePod records the pod's new metadata; what a running pod runs does
// not change, as with a kubelet.
func (n *Node) UpdatePod(_ context.Context, pod *corev1.Pod) error {
	n.mu.Lock()
	in := n.pods[key(pod.Namespace, pod.Name)]
	n.mu.Unlock()
	if in == nil {
		return nil
	}
	in.mu.Lock()
	in.pod.ObjectMeta = *pod.ObjectMeta.DeepCopy()
	in.mu.Unlock()
	return nil
}

// DeletePod drains and stops the pod in the background; the terminal
// status that follows lets virtual-kubelet remove the pod from the API.
func (n *Node) DeletePod(_ context.Context, pod *corev1.Pod) error {
	k := key(pod.Namespace, pod.Name)
	n.mu.Lock()
	in := n.pods[k]
	n.mu.Unlock()
	if in == nil {
		return nil
	}
	in.mu.Lock()
	first := !in.deleting
	in.deleting = true
	in.pod.ObjectMeta = *pod.ObjectMeta.DeepCopy()
	in.mu.Unlock()
	if !first {
		return nil
	}
	n.notify(in)
	go func() {
		in.stop()
		n.notify(in)
		n.mu.Lock()
		if n.pods[k] == in {
			delete(n.pods, k)
		}
		n.mu.Unlock()
	}()
	return nil
}

// GetPod is the pod as this node runs it, nil when it runs no such pod.
func (n *Node) GetPod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	n.mu.Lock()
	in := n.pods[key(namespace, name)]
	n.mu.Unlock()
	if in == nil {
		return nil, nil
	}
	return in.status(), nil
}

// GetPodStatus is GetPod's status.
func (n *Node) GetPodStatus(ctx context.Context, namespace, name string) (*corev1.PodStatus, error) {
	pod, _ := n.GetPod(ctx, namespace, name)
	if pod == nil {
		return nil, nil
	}
	return &pod.Status, nil
}

// GetPods lists every pod this node runs.
func (n *Node) GetPods(context.Context) ([]*corev1.Pod, error) {
	n.mu.Lock()
	all := make([]*instance, 0, len(n.pods))
	for _, in := range n.pods {
		all = append(all, in)
	}
	n.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(all))
	for _, in := range all {
		out = append(out, in.status())
	}
	return out, nil
}

// NotifyPods registers the pod controller's status callback.
func (n *Node) NotifyPods(_ context.Context, cb func(*corev1.Pod)) {
	n.mu.Lock()
	n.notifier = cb
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}
