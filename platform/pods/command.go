package pods

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Command is a function under the platform's runtime contract, Knative's
// in small: any program that serves HTTP on 127.0.0.1 at the port it is
// given in an environment variable. The manager starts one process per pod,
// probes its readiness as Knative's queue-proxy does (aggressively until the
// first success, then every ProbePeriod), and stops it with SIGTERM, then
// SIGKILL after the stop timeout (the termination grace period).
type Command struct {
	// Argv is the program and its arguments; a program without a slash
	// is looked up in PATH.
	Argv []string
	// Dir is the working directory; empty means the platform's.
	Dir string
	// Env is added to the platform's environment, KEY=VALUE each.
	Env []string
	// PortEnv names the variable that carries the pod's port; default PORT.
	PortEnv string
	// ReadinessPath is the HTTP readiness probe's path (a status from 200
	// to 399 is ready); empty probes TCP: a connection accepted is ready.
	ReadinessPath string
	// ProbePeriod is the readiness probe's period once the pod has been
	// ready; FailureThreshold failures in a row take it out of routing
	// until a probe succeeds again. Default 10 s, Kubernetes' periodSeconds.
	ProbePeriod time.Duration
}

// Readiness probing of a Command.
const (
	// AggressiveProbePeriod is the probe period until the first success.
	// Knative's queue-proxy retries every 50 ms; locally a refused
	// connection costs some 50 µs, so probing every 2 ms keeps the
	// detection delay of a cold start near a millisecond for about 2.5%
	// of a core per starting pod.
	AggressiveProbePeriod = 2 * time.Millisecond
	// aggressiveProbeTimeout bounds one probe before the first success,
	// as the queue-proxy's 100 ms.
	aggressiveProbeTimeout = 100 * time.Millisecond
	// probeTimeout bounds one periodic probe (Kubernetes' timeoutSeconds).
	probeTimeout = time.Second
	// FailureThreshold is how many periodic probes in a row must fail to
	// take a ready pod out of routing (Kubernetes' failureThreshold).
	FailureThreshold = 3
	// ProbeHeader marks readiness probes, as Knative's K-Kubelet-Probe
	// does, so a function can tell them from requests.
	ProbeHeader = "K-Kubelet-Probe"
)

func (c *Command) validate() error {
	if c == nil {
		return nil
	}
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return errors.New("pods: function command: want a program to run, got none")
	}
	if _, err := exec.LookPath(c.Argv[0]); err != nil {
		return fmt.Errorf("pods: function command %q: %v", c.Argv[0], errors.Unwrap(err))
	}
	if c.PortEnv == "" {
		c.PortEnv = "PORT"
	}
	if c.ProbePeriod <= 0 {
		c.ProbePeriod = 10 * time.Second
	}
	return nil
}

// freePort asks the kernel for a loopback port nobody listens on. Unlike
// fn's inherited listener the function binds the port itself, so another
// process could take it in between; the kernel hands ports out in turn,
// which makes that rare on one machine.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// execCommand starts the pod's process under the contract.
func (m *Manager) execCommand(p *Pod) error {
	c := m.cfg.Command
	port, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	// K_REVISION as Knative sets it, beside the port.
	cmd.Env = append(append(os.Environ(), c.Env...), c.PortEnv+"="+port, "K_REVISION="+m.cfg.Revision)
	m.setOutput(p, cmd)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p.exec = time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	p.spawned = time.Now()
	p.cmd, p.Addr = cmd, net.JoinHostPort("127.0.0.1", port)
	return nil
}

// probeCommand probes a Command's pod: every AggressiveProbePeriod until it
// is ready, then every ProbePeriod for as long as it lives, taking it out of
// routing after FailureThreshold failures and back at the next success.
func (m *Manager) probeCommand(p *Pod) {
	deadline := time.NewTimer(m.cfg.ReadyTimeout)
	defer deadline.Stop()
	t := time.NewTicker(AggressiveProbePeriod)
	defer t.Stop()
	var listening time.Time
	for {
		listens, ok := m.probeOnce(p, aggressiveProbeTimeout)
		now := time.Now()
		if listens && listening.IsZero() {
			listening = now
		}
		if ok {
			if !m.markReady(p, listening, now) {
				return
			}
			break
		}
		select {
		case <-p.done:
			return
		case <-deadline.C:
			fmt.Fprintf(m.cfg.Output, "pods: %s not ready after %v; killing it\n", p.Name, m.cfg.ReadyTimeout)
			syscall.Kill(-p.PID(), syscall.SIGKILL)
			return
		case <-t.C:
		}
	}
	t.Reset(m.cfg.Command.ProbePeriod)
	failures := 0
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		_, ok := m.probeOnce(p, probeTimeout)
		switch {
		case ok && failures >= FailureThreshold:
			m.setRouted(p, true)
			failures = 0
		case ok:
			failures = 0
		default:
			failures++
			if failures == FailureThreshold {
				fmt.Fprintf(m.cfg.Output, "pods: %s failed %d readiness probes; out of routing until one succeeds\n", p.Name, failures)
				m.setRouted(p, false)
			}
		}
	}
}

// probeOnce probes the pod once: listens is true when a connection was
// accepted, ready when the probe passed.
func (m *Manager) probeOnce(p *Pod, timeout time.Duration) (listens, ready bool) {
	path := m.cfg.Command.ReadinessPath
	if path == "" {
		conn, err := net.DialTimeout("tcp", p.Addr, timeout)
		if err != nil {
			return false, false
		}
		conn.Close()
		return true, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.Addr+path, nil)
	if err != nil {
		return false, false
	}
	req.Header.Set(ProbeHeader, "queue")
	resp, err := m.probes.Do(req)
	if err != nil {
		return false, false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return true, resp.StatusCode >= 200 && resp.StatusCode < 400
}

// setRouted records a ready pod's probe result turning, and tells the
// platform through OnRouted.
func (m *Manager) setRouted(p *Pod, routed bool) {
	p.hooks.Lock()
	defer p.hooks.Unlock()
	m.mu.Lock()
	if p.stopping {
		m.mu.Unlock()
		return
	}
	p.unready = !routed
	m.mu.Unlock()
	if m.cfg.OnRouted != nil {
		m.cfg.OnRouted(p, routed)
	}
}
