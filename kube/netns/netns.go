package netns

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// LocalRange is made local inside the namespace.
const LocalRange = "198.18.0.0/16"

// RunEnv marks every process of one run; its value is the run's id.
const RunEnv = "SCALEBENCH_E2E_RUN"

// insideEnv tells the re-executed program it is inside the namespace.
const insideEnv = "SCALEBENCH_E2E_NETNS"

// Inside reports whether this process was started by Run, inside the
// namespace.
func Inside() bool { return os.Getenv(insideEnv) != "" }

// RunID is this run's id inside the namespace ("" outside).
func RunID() string { return os.Getenv(RunEnv) }

// ErrNotRoot is Run's error when this process may not create a network
// namespace.
var ErrNotRoot = errors.New("creating a network namespace needs root")

// CheckRoot returns ErrNotRoot unless this process runs as root.
func CheckRoot() error {
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	return nil
}

// Child is a run of this program inside a new namespace.
type Child struct {
	// ID is the run id every process of the run carries in RunEnv.
	ID  string
	cmd *exec.Cmd
}

// Start re-executes this program with args in a new network namespace. The
// child inherits stdin, stdout and stderr, the environment plus the marker
// and the run id (and env), and dies with this process (Pdeathsig).
func Start(args, env []string, stdin io.Reader, stdout, stderr io.Writer) (*Child, error) {
	if err := CheckRoot(); err != nil {
		return nil, err
	}
	id := make([]byte, 8)
	rand.Read(id)
	c := &Child{ID: hex.EncodeToString(id)}
	c.cmd = exec.Command("/proc/self/exe", args...)
	// The child sees the name it was started by, not /proc/self/exe (a
	// report prints its command line).
	c.cmd.Args[0] = os.Args[0]
	c.cmd.Env = append(append(os.Environ(), insideEnv+"=1", RunEnv+"="+c.ID), env...)
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = stdin, stdout, stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start in a network namespace of its own: %w", err)
	}
	return c, nil
}

// Wait waits for the child and returns its exit status; err is set only
// when it could not be waited for.
func (c *Child) Wait() (int, error) {
	err := c.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return 128 + int(st.Signal()), nil
		}
		return ee.ExitCode(), nil
	case err != nil:
		return 1, err
	}
	return 0, nil
}

// Signal passes a signal on to the child.
func (c *Child) Signal(sig os.Signal) { c.cmd.Process.Signal(sig) }

// Leftovers lists the run's processes still alive after the child exited,
// kills them and returns them; empty means the run left nothing behind.
func (c *Child) Leftovers() []Proc {
	left := Processes(c.ID)
	for _, p := range left {
		syscall.Kill(p.PID, syscall.SIGKILL)
	}
	return left
}

// Run is Start, Wait and Leftovers for a command-line program: SIGINT and
// SIGTERM are passed to the child (which handles them) rather than ending
// this process first, and a process the run left behind is an error.
func Run(args, env []string) (int, error) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	c, err := Start(args, env, os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		return 1, err
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				c.Signal(s)
			case <-done:
				return
			}
		}
	}()
	code, err := c.Wait()
	close(done)
	if left := c.Leftovers(); len(left) > 0 {
		return 1, fmt.Errorf("%d processes of run %s outlived it and were killed: %s", len(left), c.ID, Describe(left))
	}
	return code, err
}

// Setup brings loopback up and makes LocalRange local; call it inside.
func Setup() error {
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"route", "add", "local", LocalRange, "dev", "lo"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			if errors.Is(err, exec.ErrNotFound) {
				return errors.New("ip not found: the network namespace is set up with iproute2 (apt-get install iproute2; make deps-e2e)")
			}
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// Proc is a live process of a run.
type Proc struct {
	PID int
	Exe string
}

// Processes lists the live processes whose environment carries
// RunEnv=runID (zombies have no readable environment and are not counted).
func Processes(runID string) []Proc { return ProcessesWith(RunEnv, runID) }

// ProcessesWith lists the live processes whose environment has key=value.
func ProcessesWith(key, value string) []Proc {
	mark := []byte(key + "=" + value + "\x00")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(append(env, 0), mark) {
			continue
		}
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		out = append(out, Proc{PID: pid, Exe: exe})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out
}

// Others leaves this process out of ps.
func Others(ps []Proc) []Proc {
	var out []Proc
	for _, p := range ps {
		if p.PID != os.Getpid() {
			out = append(out, p)
		}
	}
	return out
}

// Describe lists ps as "pid (exe), ...".
func Describe(ps []Proc) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%d (%s)", p.PID, filepath.Base(p.Exe)))
	}
	return strings.Join(parts, ", ")
}
