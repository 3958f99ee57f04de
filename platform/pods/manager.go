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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
)

// Config describes a revision's pods.
type Config struct {
	// Revision prefixes pod names.
	Revision string
	// Binary is the cmd/fn executable, run with fn's own protocol (an
	// inherited listener and a readiness pipe). Give Binary or Command.
	Binary string
	// Command is a function under the runtime contract (see Command).
	Command *Command
	// Transport carries HTTP readiness probes; share the queue-proxies'
	// so the connection a probe opened serves the pod's first request.
	// Nil means a default one.
	Transport http.RoundTripper
	// OnRouted is called when a ready Command pod fails its readiness
	// probes (routed false: take it out of routing) or passes again.
	OnRouted func(p *Pod, routed bool)
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
	// OnSpawned, when set, is called once a cmd/fn pod's process has
	// started, with Addr set, before it is ready: its listening socket
	// was bound before the exec, so a connection made now is accepted
	// once fn serves.
	OnSpawned func(*Pod)
	// OnStopping is called, and waited for, before a ready pod is sent
	// SIGTERM: take it out of routing and drain it there.
	OnStopping func(*Pod)
	// OnGone is called once a pod's process has exited, for whatever reason,
	// or once a pod is abandoned before its process started.
	OnGone func(*Pod)
	// OnCrash, when set, is called for every pod process that exited (or
	// failed to start) without being asked to, before OnGone.
	OnCrash func(*Pod, Crash)
	// InFlight, when set, says how many requests a ready pod is serving,
	// so that a scale-down removes pods in autoscaler.ScaleDownOrder (the
	// simulator's choice); without it every pod counts as idle.
	InFlight func(*Pod) int
	// OneByOne is for a platform that starts each pod for a request and
	// retires each one on its own clock (the Lambda path): pods come and
	// go only through StartPod and StopPod, Scale is refused, and a pod
	// that crashes is not replaced.
	OneByOne bool
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
	// Trigger, when set, is when the demand this pod answers arrived (the
	// activator's poke at zero); it is copied into the pod's Startup so a
	// scale from zero can be timed from its first request.
	Trigger time.Time
}

// Startup is one pod's measured path to readiness.
type Startup struct {
	Pod string
	// Trigger is Launch.Trigger (zero when the pod was not started by a
	// poke at zero).
	Trigger time.Time
	// Created is when the manager decided to start the pod, Exec when it
	// asked the kernel to start its process and Spawned when that returned
	// (the process exists and runs the function's binary).
	Created, Exec, Spawned time.Time
	// Listening is when the function started accepting connections: for
	// cmd/fn its readiness line, which it writes once it serves.
	Listening time.Time
	// Ready is when the pod was confirmed ready and handed to routing.
	Ready time.Time
}

// Crash is a pod process that ended without being asked to.
type Crash struct {
	Pod string
	// Serving is true when the pod had become ready (a pod killed under
	// load); false when it died starting, which repeated is a crash loop.
	Serving bool
	// Exit is how it ended: "exit status 1", "signal: killed", or
	// "start: <error>" when the process could not be started.
	Exit string
	// StderrTail is the end of what the process wrote to stderr.
	StderrTail string
	At         time.Time
}

// stderrTail is how much of a pod's stderr is kept for its crash report.
const stderrTail = 2048

// tail keeps the last stderrTail bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(b) >= stderrTail {
		t.buf = append(t.buf[:0], b[len(b)-stderrTail:]...)
		return len(b), nil
	}
	if over := len(t.buf) + len(b) - stderrTail; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, b...)
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
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
	stderr    tail
	trigger   time.Time
	exec      time.Time
	spawned   time.Time
	startup   Startup // set before OnReady
	// hooks orders OnReady before OnStopping for the same pod.
	hooks    sync.Mutex
	done     chan struct{} // closed when the process has exited
	ready    bool          // guarded by Manager.mu; has been ready
	unready  bool          // guarded by Manager.mu; failing its probes since
	stopping bool          // guarded by Manager.mu
	exited   time.Time     // set before done closes
}

// PID is the pod's process id (and process group id). Only pods listed by
// Manager.Pods have one.
func (p *Pod) PID() int { return p.cmd.Process.Pid }

// Startup is the pod's measured start-up; valid from OnReady on.
func (p *Pod) Startup() Startup { return p.startup }

// Done is closed when the pod's process has exited.
func (p *Pod) Done() <-chan struct{} { return p.done }

// Stats sums a manager's pods over its lifetime.
type Stats struct {
	// Starts counts processes started (cold starts of the platform).
	Starts int64
	// Crashes counts processes that exited without being asked to (and
	// processes that failed to start); CrashesServing those of them that
	// had been ready.
	Crashes        int64
	CrashesServing int64
	// PodSeconds is the summed lifetime of all pods, running ones to now.
	PodSeconds float64
	// MaxPods is the most pods alive at once.
	MaxPods int
}

// Manager keeps a revision's pods at the desired count.
type Manager struct {
	cfg    Config
	client *http.Client
	probes *http.Client

	mu       sync.Mutex
	desired  int
	pods     map[*Pod]struct{}
	seq      int
	stats    Stats
	deadSecs float64
	startups []Startup
	backoff  time.Duration
	// notBefore holds new pods back after a pod died before it was ready,
	// as a kubelet's crash-loop back-off does: every Scale and poke would
	// otherwise restart a broken function at once.
	notBefore time.Time
	closed    bool

	kick chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup // pod goroutines
	loop sync.WaitGroup // reconcile loop
}

// New validates cfg and starts the manager with no pods.
func New(cfg Config) (*Manager, error) {
	switch {
	case cfg.Command != nil:
		c := *cfg.Command
		if err := c.validate(); err != nil {
			return nil, err
		}
		cfg.Command = &c
	case cfg.Binary == "":
		return nil, errors.New("pods: want the path of the fn binary, got none")
	default:
		if st, err := os.Stat(cfg.Binary); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("pods: fn binary %q: want an executable file (make build writes bin/fn)", cfg.Binary)
		}
	}
	if cfg.Transport == nil {
		cfg.Transport = &http.Transport{Proxy: nil, DisableCompression: true}
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
		probes: &http.Client{Transport: cfg.Transport},
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
	if m.cfg.OneByOne {
		return errors.New("pods: this revision's pods are started and stopped one by one, not scaled to a count")
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
		case p.ready && !p.unready:
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
			states = append(states, autoscaler.PodState{Ready: p.ready && !p.unready, Seq: int64(p.seq)})
		}
	}
	diff := m.desired - len(live)
	if wait := time.Until(m.notBefore); diff > 0 && wait > 0 {
		// Backing off; the poke at notBefore starts them.
		diff = 0
	}
	if m.cfg.OneByOne {
		// Started and stopped one by one (StartPod, StopPod): a count
		// would replace a crashed pod no request asked for.
		diff = 0
	}
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
func (m *Manager) start() *Pod {
	m.mu.Lock()
	m.seq++
	p := &Pod{Name: m.cfg.Revision + "-" + strconv.Itoa(m.seq), seq: m.seq, Started: time.Now(),
		done: make(chan struct{}), abort: make(chan struct{}), launched: make(chan struct{})}
	m.pods[p] = struct{}{}
	m.stats.Starts++
	m.stats.MaxPods = max(m.stats.MaxPods, len(m.pods))
	m.mu.Unlock()
	// Prepared once the pod is listed, so whoever asks for the count in
	// between sees it starting.
	var l Launch
	if m.cfg.Prepare != nil {
		l = m.cfg.Prepare()
	}
	p.trigger = l.Trigger
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.launch(p, l)
	}()
	return p
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
	if m.cfg.Command != nil {
		if err := m.execCommand(p); err != nil {
			m.abandon(p, err)
			return
		}
		close(p.launched)
		m.wg.Add(2)
		go func() {
			defer m.wg.Done()
			m.probeCommand(p)
		}()
	} else {
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
		if m.cfg.OnSpawned != nil {
			m.cfg.OnSpawned(p)
		}
	}
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
		m.notBefore = p.exited.Add(m.backoff)
	}
	backoff := m.backoff
	m.mu.Unlock()
	close(p.launched)
	close(p.done)
	if failed && m.cfg.OnCrash != nil {
		m.cfg.OnCrash(p, Crash{Pod: p.Name, Exit: "start: " + err.Error(), At: p.exited})
	}
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
	m.setOutput(p, cmd)
	// A process group per pod lets stop reach anything fn forks; Pdeathsig
	// takes the pod down if the platform itself is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p.exec = time.Now()
	if err := cmd.Start(); err != nil {
		pr.Close()
		return nil, err
	}
	p.spawned = time.Now()
	p.cmd, p.Addr = cmd, addr
	return pr, nil
}

// setOutput sends the process's output to Output, keeping the tail of its
// stderr for a crash report.
func (m *Manager) setOutput(p *Pod, cmd *exec.Cmd) {
	cmd.Stdout, cmd.Stderr = m.cfg.Output, io.MultiWriter(m.cfg.Output, &p.stderr)
	if m.cfg.Output == io.Discard {
		cmd.Stdout = nil // /dev/null: no pipe to copy from
	}
	// A grandchild holding stderr open must not hold up the reaping of
	// the pod itself.
	cmd.WaitDelay = time.Second
}

// await waits for the pod's readiness line and marks the pod ready; only
// when the line never comes does it fall back to probing /healthz every
// ProbeInterval.
//
// fn writes the line once it serves on a socket the manager bound before
// the exec, so a connection made after the line is accepted: a confirming
// probe would only add a connection and a request to every cold start.
// The goroutine that reads the line marks the pod ready itself: handing
// the line to this one first cost a goroutine wake-up, 0.1–0.2 ms of every
// scale from zero on a loaded machine.
func (m *Manager) await(p *Pod, pr *os.File) {
	// decided is taken by whoever settles the pod's start first: the line
	// or a probe (ready), or the deadline (killed).
	var decided atomic.Bool
	signalled, noSignal := make(chan struct{}), make(chan struct{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		line, err := bufio.NewReader(pr).ReadString('\n')
		pr.Close()
		if err != nil || len(line) == 0 {
			close(noSignal)
			return
		}
		if decided.CompareAndSwap(false, true) {
			now := time.Now()
			m.markReady(p, now, now)
		}
		close(signalled)
	}()
	deadline := time.NewTimer(m.cfg.ReadyTimeout)
	defer deadline.Stop()
	var tick <-chan time.Time
	for {
		select {
		case <-signalled:
			return
		case <-noSignal:
			// No signal from this binary: fall back to probing.
			noSignal = nil
			t := time.NewTicker(m.cfg.ProbeInterval)
			defer t.Stop()
			tick = t.C
			continue
		case <-tick:
		case <-p.done:
			return
		case <-deadline.C:
			if !decided.CompareAndSwap(false, true) {
				return // the line came first
			}
			fmt.Fprintf(m.cfg.Output, "pods: %s not ready after %v; killing it\n", p.Name, m.cfg.ReadyTimeout)
			syscall.Kill(-p.PID(), syscall.SIGKILL)
			return
		}
		if m.probe(p) && decided.CompareAndSwap(false, true) {
			now := time.Now()
			m.markReady(p, now, now)
			return
		}
	}
}

// markReady records the pod's start-up and hands it to OnReady, unless it
// is being stopped meanwhile (then it returns false).
func (m *Manager) markReady(p *Pod, listening, ready time.Time) bool {
	p.hooks.Lock()
	defer p.hooks.Unlock()
	m.mu.Lock()
	if _, live := m.pods[p]; !live || p.stopping {
		// Stopping, or its process already exited (reaped).
		m.mu.Unlock()
		return false
	}
	p.ready = true
	m.backoff, m.notBefore = 0, time.Time{}
	p.startup = Startup{Pod: p.Name, Trigger: p.trigger, Created: p.Started,
		Exec: p.exec, Spawned: p.spawned, Listening: listening, Ready: ready}
	m.startups = append(m.startups, p.startup)
	m.mu.Unlock()
	if m.cfg.OnReady != nil {
		m.cfg.OnReady(p)
	}
	return true
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
	werr := p.cmd.Wait()
	// Anything the pod forked dies with it.
	syscall.Kill(-p.PID(), syscall.SIGKILL)
	p.exited = time.Now()
	m.mu.Lock()
	delete(m.pods, p)
	m.deadSecs += p.exited.Sub(p.Started).Seconds()
	crashed := !p.stopping
	serving := p.ready
	if crashed {
		m.stats.Crashes++
		if serving {
			m.stats.CrashesServing++
		}
		if !p.ready {
			// A pod that dies before it is ready will likely die again:
			// back off so a broken binary does not spin.
			m.backoff = min(max(2*m.backoff, 100*time.Millisecond), 5*time.Second)
			m.notBefore = p.exited.Add(m.backoff)
		}
	}
	backoff := m.backoff
	m.mu.Unlock()
	close(p.done)
	if crashed && m.cfg.OnCrash != nil {
		exit := p.cmd.ProcessState.String()
		if werr != nil && !errors.As(werr, new(*exec.ExitError)) {
			exit += " (" + werr.Error() + ")"
		}
		m.cfg.OnCrash(p, Crash{Pod: p.Name, Serving: serving, Exit: exit, StderrTail: p.stderr.String(), At: p.exited})
	}
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
