package pods

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
)

// Config describes a revision's pods.
type Config struct {
	// Revision prefixes pod names.
	Revision string
	// Binary is the cmd/fn executable.
	Binary string
	// Args are extra fn flags (--init, --work, ...); the manager adds the
	// listener, readiness pipe and instance flags.
	Args []string
	// ProbeInterval is the readiness probe period when fn sends no signal.
	ProbeInterval time.Duration
	// ReadyTimeout is how long a pod may take to become ready before it is
	// killed and replaced.
	ReadyTimeout time.Duration
	// StopTimeout is how long a pod may drain after SIGTERM before SIGKILL.
	StopTimeout time.Duration
	// Output receives the pods' stdout and stderr; nil discards them.
	Output io.Writer
	// OnReady is called when a pod becomes ready to serve.
	OnReady func(*Pod)
	// OnStopping is called, and waited for, before a ready pod is sent
	// SIGTERM: take it out of routing and drain it there.
	OnStopping func(*Pod)
	// OnGone is called once a pod's process has exited, for whatever reason,
	// or once a pod is abandoned before its process started.
	OnGone func(*Pod)
	// InFlight, when set, says how many requests a ready pod is serving,
	// so that a scale-down removes pods in autoscaler.ScaleDownOrder (the
	// simulator's choice); without it every pod counts as idle.
	InFlight func(*Pod) int
	// Prepare, when set, is called once per new pod, in creation order, for
	// its start-up: how long the pod waits before its process is started
	// and which fn flags it gets on top of Args. It runs on the reconcile
	// loop, so a seeded generator behind it yields the same sequence of
	// start-ups in every run.
	Prepare func() Launch
}

// Launch is one pod's start-up plan.
type Launch struct {
	// Delay is the time before the process is started: what a cluster
	// spends scheduling the pod, pulling its image and starting its
	// container. The pod counts as not ready meanwhile.
	Delay time.Duration
	// Args are per-pod fn flags after Config.Args (so they win), such as
	// a per-pod --init.
	Args []string
}

// Startup is one pod's measured path to readiness.
type Startup struct {
	Pod string
	// Created is when the manager decided to start the pod, Exec when its
	// process started, Ready when it was confirmed ready.
	Created, Exec, Ready time.Time
}

// Pod is one fn process, or one waiting for its start-up delay.
type Pod struct {
	Name string
	seq  int // creation order within the revision
	// Addr is set when the process has started (Pods lists only those).
	Addr string
	// Started is when the pod was created, before any start-up delay:
	// pod-seconds count from here, as a cluster bills a pending pod.
	Started time.Time

	// abort is closed by stop so a pod still waiting for its start-up
	// delay is never exec'd; launched is closed once the process started
	// or the launch was given up, after cmd and exec are set.
	abort     chan struct{}
	abortOnce sync.Once
	launched  chan struct{}
	cmd       *exec.Cmd // nil when the launch was given up
	exec      time.Time
	// hooks orders OnReady before OnStopping for the same pod.
	hooks    sync.Mutex
	done     chan struct{} // closed when the process has exited
	ready    bool          // guarded by Manager.mu
	stopping bool          // guarded by Manager.mu
	exited   time.Time     // set before done closes
}

// PID is the pod's process id (and process group id). Only pods listed by
// Manager.Pods have one.
func (p *Pod) PID() int { return p.cmd.Process.Pid }

// Done is closed when the pod's process has exited.
func (p *Pod) Done() <-chan struct{} { return p.done }

// Stats sums a manager's pods over its lifetime.
type Stats struct {
	// Starts counts processes started (cold starts of the platform).
	Starts int64
	// Crashes counts processes that exited without being asked to.
	Crashes int64
	// PodSeconds is the summed lifetime of all pods, running ones to now.
	PodSeconds float64
	// MaxPods is the most pods alive at once.
	MaxPods int
}

// Manager keeps a revision's pods at the desired count.
type Manager struct {
	cfg    Config
	client *http.Client

	mu       sync.Mutex
	desired  int
	pods     map[*Pod]struct{}
	seq      int
	stats    Stats
	deadSecs float64
	startups []Startup
	backoff  time.Duration
	closed   bool

	kick chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup // pod goroutines
	loop sync.WaitGroup // reconcile loop
}

// New validates cfg and starts the manager with no pods.
func New(cfg Config) (*Manager, error) {
	if cfg.Binary == "" {
		return nil, errors.New("pods: want the path of the fn binary, got none")
	}
	if st, err := os.Stat(cfg.Binary); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("pods: fn binary %q: want an executable file (make build writes bin/fn)", cfg.Binary)
	}
	if cfg.Revision == "" {
		cfg.Revision = "fn"
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = 10 * time.Millisecond
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 2 * time.Minute
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	m := &Manager{
		cfg:    cfg,
		client: &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
		pods:   map[*Pod]struct{}{},
		kick:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
	}
	m.loop.Add(1)
	go m.reconcileLoop()
	return m, nil
}

// Scale sets the desired pod count. It does not wait.
func (m *Manager) Scale(n int) error {
	if n < 0 {
		return fmt.Errorf("pods: desired count must be >= 0, got %d", n)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errors.New("pods: manager is closed")
	}
	m.desired = n
	m.mu.Unlock()
	m.poke()
	return nil
}

// Counts reports ready and not-yet-ready pods, leaving out pods that are
// stopping.
func (m *Manager) Counts() (ready, notReady int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p := range m.pods {
		switch {
		case p.stopping:
		case p.ready:
			ready++
		default:
			notReady++
		}
	}
	return ready, notReady
}

// Pods lists the pods whose process has started and not yet exited.
func (m *Manager) Pods() []*Pod {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Pod, 0, len(m.pods))
	for p := range m.pods {
		select {
		case <-p.launched:
			if p.cmd != nil {
				out = append(out, p)
			}
		default:
		}
	}
	return out
}

// Startups lists the start-up of every pod that became ready, in order.
func (m *Manager) Startups() []Startup {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Startup(nil), m.startups...)
}

// Stats reports the lifetime totals.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.PodSeconds = m.deadSecs
	now := time.Now()
	for p := range m.pods {
		s.PodSeconds += now.Sub(p.Started).Seconds()
	}
	return s
}

// Close drains and stops every pod and waits for their processes to exit.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.desired = 0
	m.mu.Unlock()
	close(m.quit)
	m.loop.Wait()
	m.mu.Lock()
	all := make([]*Pod, 0, len(m.pods))
	for p := range m.pods {
		all = append(all, p)
	}
	m.mu.Unlock()
	var stops sync.WaitGroup
	for _, p := range all {
		stops.Add(1)
		go func() {
			defer stops.Done()
			m.stop(p)
		}()
	}
	stops.Wait()
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.pods); n > 0 {
		return fmt.Errorf("pods: %d pods still listed after close", n)
	}
	return nil
}

func (m *Manager) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// reconcileLoop is the single writer of pod starts and stops, so decisions
// are taken on a consistent view.
func (m *Manager) reconcileLoop() {
	defer m.loop.Done()
	for {
		select {
		case <-m.quit:
			return
		case <-m.kick:
		}
		m.reconcile()
	}
}

// reconcile starts or stops pods toward the desired count. A pod whose
// process fails to start is retried through abandon's delayed poke.
func (m *Manager) reconcile() {
	m.mu.Lock()
	var live []*Pod
	var states []autoscaler.PodState
	for p := range m.pods {
		if !p.stopping {
			live = append(live, p)
			states = append(states, autoscaler.PodState{Ready: p.ready, Seq: int64(p.seq)})
		}
	}
	diff := m.desired - len(live)
	m.mu.Unlock()
	var victims []*Pod
	if diff < 0 {
		// In-flight counts come from the queue-proxies, asked without
		// holding mu. A pod that turns ready or exits meanwhile costs at
		// worst a less apt victim; stop copes with a pod already gone.
		for i, p := range live {
			if states[i].Ready && m.cfg.InFlight != nil {
				states[i].InFlight = m.cfg.InFlight(p)
			}
		}
		order := make([]int, len(live))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return autoscaler.ScaleDownOrder(states[a], states[b]) })
		for _, i := range order[:-diff] {
			victims = append(victims, live[i])
		}
		m.mu.Lock()
		for _, p := range victims {
			p.stopping = true
		}
		m.mu.Unlock()
	}
	for _, p := range victims {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.stop(p)
		}()
	}
	for i := 0; i < diff; i++ {
		m.start()
	}
}

// start creates one pod; its process starts after its start-up delay.
func (m *Manager) start() {
	var l Launch
	if m.cfg.Prepare != nil {
		l = m.cfg.Prepare()
	}
	m.mu.Lock()
	m.seq++
	p := &Pod{Name: m.cfg.Revision + "-" + strconv.Itoa(m.seq), seq: m.seq, Started: time.Now(),
		done: make(chan struct{}), abort: make(chan struct{}), launched: make(chan struct{})}
	m.pods[p] = struct{}{}
	m.stats.Starts++
	m.stats.MaxPods = max(m.stats.MaxPods, len(m.pods))
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.launch(p, l)
	}()
}

// launch waits out the pod's start-up delay, unless it is stopped first,
// then starts its process and watches it.
func (m *Manager) launch(p *Pod, l Launch) {
	if l.Delay > 0 {
		t := time.NewTimer(l.Delay)
		select {
		case <-t.C:
		case <-p.abort:
			t.Stop()
			m.abandon(p, nil)
			return
		}
	}
	select {
	case <-p.abort:
		m.abandon(p, nil)
		return
	default:
	}
	pr, err := m.exec(p, l.Args)
	if err != nil {
		m.abandon(p, err)
		return
	}
	close(p.launched)
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		m.await(p, pr)
	}()
	go func() {
		defer m.wg.Done()
		m.reap(p)
	}()
}

// abandon removes a pod whose process never started: stopped during its
// start-up delay (err nil), or failed to start (counted like a crash
// before readiness, with backoff).
func (m *Manager) abandon(p *Pod, err error) {
	if err != nil {
		fmt.Fprintf(m.cfg.Output, "pods: start %s: %v\n", p.Name, err)
	}
	p.exited = time.Now()
	m.mu.Lock()
	delete(m.pods, p)
	m.deadSecs += p.exited.Sub(p.Started).Seconds()
	failed := err != nil && !p.stopping
	if failed {
		m.stats.Crashes++
		m.backoff = min(max(2*m.backoff, 100*time.Millisecond), 5*time.Second)
	}
	backoff := m.backoff
	m.mu.Unlock()
	close(p.launched)
	close(p.done)
	if m.cfg.OnGone != nil {
		m.cfg.OnGone(p)
	}
	if failed {
		time.AfterFunc(backoff, m.poke)
	}
}

// exec starts the pod's process on a fresh loopback listener and returns
// the read end of its readiness pipe.
func (m *Manager) exec(p *Pod, extra []string) (*os.File, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	lf, err := ln.(*net.TCPListener).File()
	addr := ln.Addr().String()
	ln.Close() // the duplicate in lf keeps the socket listening
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer pw.Close()

	args := append(append(append([]string{}, m.cfg.Args...), extra...), "--listen-fd=3", "--ready-fd=4", "--instance="+p.Name)
	cmd := exec.Command(m.cfg.Binary, args...)
	cmd.ExtraFiles = []*os.File{lf, pw}
	cmd.Stdout, cmd.Stderr = m.cfg.Output, m.cfg.Output
	// A process group per pod lets stop reach anything fn forks; Pdeathsig
	// takes the pod down if the platform itself is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p.exec = time.Now()
	if err := cmd.Start(); err != nil {
		pr.Close()
		return nil, err
	}
	p.cmd, p.Addr = cmd, addr
	return pr, nil
}

// await waits for the pod's readiness line, confirms it with one probe
// (probing periodically if the line never comes) and marks the pod ready.
func (m *Manager) await(p *Pod, pr *os.File) {
	signalled := make(chan bool, 1)
	go func() {
		line, err := bufio.NewReader(pr).ReadString('\n')
		pr.Close()
		signalled <- err == nil && len(line) > 0
	}()
	deadline := time.NewTimer(m.cfg.ReadyTimeout)
	defer deadline.Stop()
	var tick <-chan time.Time
	for {
		select {
		case ok := <-signalled:
			if !ok {
				// No signal from this binary: fall back to probing.
				t := time.NewTicker(m.cfg.ProbeInterval)
				defer t.Stop()
				tick = t.C
				continue
			}
		case <-tick:
		case <-p.done:
			return
		case <-deadline.C:
			fmt.Fprintf(m.cfg.Output, "pods: %s not ready after %v; killing it\n", p.Name, m.cfg.ReadyTimeout)
			syscall.Kill(-p.PID(), syscall.SIGKILL)
			return
		}
		if !m.probe(p) {
			if tick == nil {
				t := time.NewTicker(m.cfg.ProbeInterval)
				defer t.Stop()
				tick = t.C
			}
			continue
		}
		p.hooks.Lock()
		m.mu.Lock()
		if p.stopping {
			m.mu.Unlock()
			p.hooks.Unlock()
			return
		}
		p.ready = true
		m.backoff = 0
		m.startups = append(m.startups, Startup{Pod: p.Name, Created: p.Started, Exec: p.exec, Ready: time.Now()})
		m.mu.Unlock()
		if m.cfg.OnReady != nil {
			m.cfg.OnReady(p)
		}
		p.hooks.Unlock()
		return
	}
}

func (m *Manager) probe(p *Pod) bool {
	resp, err := m.client.Get("http://" + p.Addr + "/healthz")
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// reap waits for the process, accounts for it and, when it was not asked to
// stop, counts a crash and lets reconcile replace it.
func (m *Manager) reap(p *Pod) {
	p.cmd.Wait()
	// Anything the pod forked dies with it.
	syscall.Kill(-p.PID(), syscall.SIGKILL)
	p.exited = time.Now()
	m.mu.Lock()
	delete(m.pods, p)
	m.deadSecs += p.exited.Sub(p.Started).Seconds()
	crashed := !p.stopping
	if crashed {
		m.stats.Crashes++
		if !p.ready {
			// A pod that dies before it is ready will likely die again:
			// back off so a broken binary does not spin.
			m.backoff = min(max(2*m.backoff, 100*time.Millisecond), 5*time.Second)
		}
	}
	backoff := m.backoff
	m.mu.Unlock()
	close(p.done)
	if m.cfg.OnGone != nil {
		m.cfg.OnGone(p)
	}
	if crashed {
		if backoff > 0 {
			time.AfterFunc(backoff, m.poke)
		} else {
			m.poke()
		}
	}
}

// stop drains and terminates a pod and waits for it to exit.
func (m *Manager) stop(p *Pod) {
	p.hooks.Lock()
	m.mu.Lock()
	wasReady := p.ready
	p.stopping = true
	m.mu.Unlock()
	if wasReady && m.cfg.OnStopping != nil {
		m.cfg.OnStopping(p)
	}
	p.hooks.Unlock()
	p.abortOnce.Do(func() { close(p.abort) })
	<-p.launched
	if p.cmd == nil {
		<-p.done
		return
	}
	syscall.Kill(-p.PID(), syscall.SIGTERM)
	t := time.NewTimer(m.cfg.StopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		syscall.Kill(-p.PID(), syscall.SIGKILL)
		<-p.done
	}
}

// Wait blocks until ctx ends or the manager has n ready pods.
func (m *Manager) Wait(ctx context.Context, n int) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if r, _ := m.Counts(); r >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			r, nr := m.Counts()
			return fmt.Errorf("pods: %d ready, %d starting, want %d ready: %w", r, nr, n, ctx.Err())
		case <-t.C:
		}
	}
}
