package node

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scalebench/scalebench/platform/pods"
	"github.com/scalebench/scalebench/platform/queueproxy"
)

// instance is one Pod on this node: its fn process (a pods.Manager kept at
// one pod, which restarts a crashed fn) behind its queue-proxy on the pod IP.
type instance struct {
	n    *Node
	spec podSpec
	ip   string
	// created is when the node was given the pod.
	created time.Time

	mgr     *pods.Manager
	serve   *http.Server // the queue-proxy on POD_IP:port
	metrics *http.Server // its /metrics on POD_IP:9091
	qp      atomic.Pointer[queueproxy.Proxy]
	quit    chan struct{} // stops the collect loop
	wg      sync.WaitGroup

	mu       sync.Mutex
	pod      *corev1.Pod // status is rebuilt from the fields below
	ready    bool
	started  time.Time // the running fn's exec time
	restarts int32
	deleting bool
	finished bool
	waiting  *corev1.ContainerStateWaiting
	stopOnce sync.Once
}

// start claims the pod's IP and ports and starts its fn; a spec error makes
// the pod wait forever with the reason, as a kubelet does with a bad image.
func (n *Node) start(pod *corev1.Pod) (*instance, error) {
	in := &instance{n: n, pod: pod.DeepCopy(), quit: make(chan struct{}), created: time.Now(),
		waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	if in.pod.Status.StartTime == nil {
		now := metav1.Now()
		in.pod.Status.StartTime = &now
	}
	spec, err := parsePod(n.cfg.BinDir, n.cfg.Commands, pod)
	if err != nil {
		reason := "CreateContainerConfigError"
		if _, ierr := binaryFor(n.cfg.BinDir, firstImage(pod)); ierr != nil && commandFor(n.cfg.Commands, firstImage(pod)) == nil {
			reason = "ErrImageNeverPull"
		}
		in.waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: err.Error()}
		in.finished = true // nothing runs; deletion needs no drain
		n.event(pod, corev1.EventTypeWarning, "Failed", err.Error())
		return in, nil
	}
	in.spec = spec
	if in.ip, err = n.ipam.allocate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(in.ip, strconv.Itoa(spec.port)))
	if err != nil {
		n.ipam.release(in.ip)
		return nil, fmt.Errorf("pod %s/%s: queue-proxy listen: %w (is %s local? see kube/node's doc)", pod.Namespace, pod.Name, err, n.cfg.PodCIDR)
	}
	mln, err := net.Listen("tcp", net.JoinHostPort(in.ip, strconv.Itoa(MetricsPort)))
	if err != nil {
		ln.Close()
		n.ipam.release(in.ip)
		return nil, fmt.Errorf("pod %s/%s: metrics listen: %w", pod.Namespace, pod.Name, err)
	}
	in.serve = &http.Server{Handler: http.HandlerFunc(in.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(prometheus.GathererFunc(in.gather), promhttp.HandlerOpts{}))
	in.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	rng := podRand(string(pod.UID))
	prepare := func() pods.Launch { return spec.startup.launch(rng) }
	if spec.command != nil {
		prepare = func() pods.Launch { return spec.startup.launchCommand(rng) }
	}
	in.mgr, err = pods.New(pods.Config{
		Revision:    pod.Name,
		Binary:      spec.binary,
		Command:     spec.command,
		Transport:   n.transport,
		Args:        spec.args,
		StopTimeout: spec.grace,
		Output:      n.cfg.Output,
		// The reconcile loop calls Prepare serially, so rng needs no lock.
		Prepare:    prepare,
		OnReady:    in.onReady,
		OnStopping: in.onStopping,
		OnRouted:   in.onRouted,
		OnGone:     in.onGone,
	})
	if err != nil {
		ln.Close()
		mln.Close()
		n.ipam.release(in.ip)
		in.waiting = &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull", Message: err.Error()}
		in.finished = true
		n.event(pod, corev1.EventTypeWarning, "Failed", err.Error())
		return in, nil
	}
	in.wg.Add(3)
	go func() { defer in.wg.Done(); in.serve.Serve(ln) }()
	go func() { defer in.wg.Done(); in.metrics.Serve(mln) }()
	go func() { defer in.wg.Done(); in.collect() }()
	if err := in.mgr.Scale(1); err != nil {
		return nil, err
	}
	return in, nil
}

func firstImage(pod *corev1.Pod) string {
	if len(pod.Spec.Containers) == 0 {
		return ""
	}
	return pod.Spec.Containers[0].Image
}

// serveHTTP is the pod's front door: its queue-proxy once fn is ready.
func (in *instance) serveHTTP(w http.ResponseWriter, r *http.Request) {
	qp := in.qp.Load()
	if qp == nil {
		w.Header().Set(queueproxy.HeaderError, "pod_not_ready")
		http.Error(w, "pod "+in.pod.Name+": not ready", http.StatusServiceUnavailable)
		return
	}
	qp.ServeHTTP(w, r)
}

func (in *instance) gather() ([]*dto.MetricFamily, error) {
	if qp := in.qp.Load(); qp != nil {
		return qp.Registry().Gather()
	}
	return nil, nil
}

// collect closes the queue-proxy's one-second window, which is what its
// average-concurrency and requests-per-second gauges report.
func (in *instance) collect() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-in.quit:
			return
		case now := <-t.C:
			if qp := in.qp.Load(); qp != nil {
				qp.Collect(now)
			}
		}
	}
}

func (in *instance) onReady(p *pods.Pod) {
	qp, err := queueproxy.New(queueproxy.Config{
		Pod: in.pod.Name, Addr: p.Addr, ContainerConcurrency: in.spec.cc, QueueDepth: in.spec.queueDepth,
		Transport: in.n.transport,
	})
	if err != nil {
		in.n.event(in.pod, corev1.EventTypeWarning, "Failed", err.Error())
		return
	}
	in.qp.Store(qp)
	started := p.Started
	st := PodStartup{Namespace: in.pod.Namespace, Name: in.pod.Name, Created: in.created, Exec: p.Started, Ready: time.Now()}
	for _, s := range in.mgr.Startups() {
		if s.Pod == p.Name {
			started = s.Exec
			st.Exec, st.Spawned, st.Listening, st.Ready = s.Exec, s.Spawned, s.Listening, s.Ready
		}
	}
	in.n.recordStartup(st)
	in.mu.Lock()
	in.ready, in.started, in.waiting = true, started, nil
	in.mu.Unlock()
	in.n.notify(in)
}

// onRouted follows a user's command failing its readiness probes after it
// was ready (routed false) and passing again: the pod leaves Ready and
// comes back, as a kubelet's readiness probe does.
func (in *instance) onRouted(_ *pods.Pod, routed bool) {
	in.mu.Lock()
	changed := in.ready != routed && !in.deleting
	if changed {
		in.ready = routed
	}
	in.mu.Unlock()
	if changed {
		in.n.notify(in)
	}
}

// onStopping takes the pod out of Ready and drains its queue-proxy before
// fn gets SIGTERM.
func (in *instance) onStopping(p *pods.Pod) {
	in.mu.Lock()
	in.ready = false
	in.mu.Unlock()
	in.n.notify(in)
	qp := in.qp.Load()
	if qp == nil {
		return
	}
	qp.Retire()
	ctx, cancel := context.WithTimeout(context.Background(), in.spec.grace)
	defer cancel()
	if err := qp.Drain(ctx); err != nil {
		in.n.logf("%v", err)
	}
}

// onGone: fn exited. Unless the pod is being deleted that is a crash, and
// the manager starts a new fn.
func (in *instance) onGone(p *pods.Pod) {
	in.qp.Store(nil)
	in.mu.Lock()
	crashed := !in.deleting
	in.ready = false
	if crashed {
		in.restarts++
		in.waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: "fn exited without being asked to; restarting"}
	}
	in.mu.Unlock()
	if crashed {
		in.n.event(in.pod, corev1.EventTypeWarning, "BackOff", "fn exited without being asked to; restarting it")
		in.n.notify(in)
	}
}

// stop drains and stops the pod's processes and frees its address; the
// pod's status then turns terminal. It is safe to call more than once.
func (in *instance) stop() {
	in.stopOnce.Do(func() {
		in.mu.Lock()
		in.deleting = true
		in.mu.Unlock()
		if in.mgr != nil {
			if err := in.mgr.Close(); err != nil {
				in.n.logf("pod %s/%s: %v", in.pod.Namespace, in.pod.Name, err)
			}
			close(in.quit)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			in.serve.Shutdown(ctx)
			in.metrics.Shutdown(ctx)
			cancel()
			in.wg.Wait()
			in.n.ipam.release(in.ip)
		}
		in.mu.Lock()
		in.ready, in.finished = false, true
		in.mu.Unlock()
	})
}

// processes lists the pod's running fn pids.
func (in *instance) processes() []int {
	if in.mgr == nil {
		return nil
	}
	var pids []int
	for _, p := range in.mgr.Pods() {
		pids = append(pids, p.PID())
	}
	return pids
}

// status is the pod as the API should see it now.
func (in *instance) status() *corev1.Pod {
	in.mu.Lock()
	defer in.mu.Unlock()
	pod := in.pod.DeepCopy()
	st := &pod.Status
	now := metav1.Now()
	cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s = corev1.ConditionTrue
		}
		// Keep a condition's transition time while its value holds.
		for _, c := range in.pod.Status.Conditions {
			if c.Type == t && c.Status == s {
				return c
			}
		}
		return corev1.PodCondition{Type: t, Status: s, LastTransitionTime: now}
	}
	c := pod.Spec.Containers[0]
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: in.ready, RestartCount: in.restarts}
	started := !in.started.IsZero() && in.waiting == nil
	cs.Started = &started
	switch {
	case in.finished && in.deleting:
		cs.State.Terminated = &corev1.ContainerStateTerminated{Reason: "Completed", Message: "stopped by the node on deletion",
			StartedAt: metav1.NewTime(in.started), FinishedAt: now}
		if in.started.IsZero() {
			cs.State.Terminated.StartedAt = now
		}
	case in.waiting != nil && !in.deleting:
		cs.State.Waiting = in.waiting.DeepCopy()
	case started:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(in.started)}
		cs.ContainerID = "scalebench://" + in.pod.Name
	default:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	}
	st.ContainerStatuses = []corev1.ContainerStatus{cs}
	switch {
	case cs.State.Terminated != nil:
		st.Phase = corev1.PodSucceeded
	case started || in.restarts > 0:
		st.Phase = corev1.PodRunning
	default:
		st.Phase = corev1.PodPending
	}
	st.Conditions = []corev1.PodCondition{
		cond(corev1.PodScheduled, true),
		cond(corev1.PodReadyToStartContainers, in.ip != ""),
		cond(corev1.PodInitialized, true),
		cond(corev1.ContainersReady, in.ready),
		cond(corev1.PodReady, in.ready),
	}
	in.pod.Status.Conditions = st.Conditions
	st.HostIP = in.n.hostIP
	st.HostIPs = []corev1.HostIP{{IP: in.n.hostIP}}
	if in.ip != "" && cs.State.Terminated == nil {
		st.PodIP = in.ip
		st.PodIPs = []corev1.PodIP{{IP: in.ip}}
	}
	return pod
}
