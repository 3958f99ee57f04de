package pods

import "errors"

// StartPod creates one pod at once, for a manager with Config.OneByOne,
// and returns it; its process starts after its start-up delay and OnReady
// says when it serves. The pod counts towards Stats as any other.
func (m *Manager) StartPod() (*Pod, error) {
	m.mu.Lock()
	switch {
	case !m.cfg.OneByOne:
		m.mu.Unlock()
		return nil, errors.New("pods: StartPod needs a manager that starts pods one by one")
	case m.closed:
		m.mu.Unlock()
		return nil, errors.New("pods: manager is closed")
	}
	m.desired++
	m.mu.Unlock()
	return m.start(), nil
}

// StopPod drains and stops one pod of a OneByOne manager without waiting:
// OnStopping runs first, as on a scale-down, and OnGone once its process
// has exited. Stopping a pod already stopping or gone does nothing.
func (m *Manager) StopPod(p *Pod) {
	m.mu.Lock()
	if _, live := m.pods[p]; !live || p.stopping || m.closed {
		m.mu.Unlock()
		return
	}
	p.stopping = true
	m.desired--
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.stop(p)
	}()
}
