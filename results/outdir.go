package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/scalebench/scalebench/badinput"
)

// MarkerName is the file every scalebench output directory holds. It is how a
// later run knows that a directory is one of its own outputs, safe to
// replace, and, inside a temporary directory, which process was writing it.
const MarkerName = ".scalebench-output"

// marker is the content of MarkerName.
type marker struct {
	Tool    string    `json:"tool"`
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

// ErrNotOutput is wrapped by CreateOutDir's refusal to replace a path that is
// not a previous scalebench output. It is the user's mistake (a wrong --out),
// not a failure of the run: the refusal is a *badinput.Error (exit 2).
var ErrNotOutput = errors.New("not a scalebench output")

// OutDir is an output directory written atomically: files go into a hidden
// temporary sibling, and Commit swaps it into place. A run that fails or is
// abandoned leaves no half-written directory behind (Abort removes it); a run
// killed outright leaves its temporary directory, which the next run of the
// same output removes once it can prove the writer is dead.
type OutDir struct {
	final string
	tmp   string
}

// OutOption changes how CreateOutDir treats what is already there.
type OutOption func(*outConfig)

type outConfig struct {
	force bool
	log   io.Writer
}

// Force lets CreateOutDir replace a path that is not a scalebench output (a
// file, or a directory with other files in it), as --force asks.
func Force(on bool) OutOption { return func(c *outConfig) { c.force = on } }

// LogTo names where CreateOutDir says what it cleaned up.
func LogTo(w io.Writer) OutOption { return func(c *outConfig) { c.log = w } }

// CreateOutDir prepares dir for writing. An existing dir is replaced only at
// Commit, and only if it is empty or a previous scalebench output (or Force
// is given): a user's own files are never deleted by a mistyped --out.
// Temporary directories of earlier runs of the same output whose process is
// gone are removed first. Nothing beside dir is touched.
func CreateOutDir(dir string, opts ...OutOption) (*OutDir, error) {
	var cfg outConfig
	for _, o := range opts {
		o(&cfg)
	}
	dir = filepath.Clean(dir)
	if err := replaceable(dir, cfg.force); err != nil {
		return nil, err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	removeStale(parent, filepath.Base(dir), cfg.log)
	tmp, err := os.MkdirTemp(parent, tmpPrefix(filepath.Base(dir)))
	if err != nil {
		return nil, err
	}
	if err := writeMarker(tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return &OutDir{final: dir, tmp: tmp}, nil
}

func tmpPrefix(base string) string { return "." + base + ".tmp-" }

// replaceable says whether dir may be replaced at Commit.
func replaceable(dir string, force bool) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if force {
		return nil
	}
	if !fi.IsDir() {
		return badinput.Errorf("--out %s: is a file, %w; give --force to replace it", dir, ErrNotOutput)
	}
	if IsOutput(dir) {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return badinput.Errorf("--out %s: holds %d files and is %w; choose another directory or give --force to replace it", dir, len(entries), ErrNotOutput)
	}
	return nil
}

// IsOutput reports whether dir is a directory a scalebench run wrote.
func IsOutput(dir string) bool {
	_, err := readMarker(dir)
	return err == nil
}

func writeMarker(dir string) error {
	host, _ := os.Hostname()
	b, err := json.Marshal(marker{Tool: "scalebench", PID: os.Getpid(), Host: host, Started: time.Now().UTC()})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, MarkerName), append(b, '\n'), 0o644)
}

func readMarker(dir string) (marker, error) {
	var m marker
	b, err := os.ReadFile(filepath.Join(dir, MarkerName))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Tool != "scalebench" {
		return m, fmt.Errorf("%s: not a scalebench marker", filepath.Join(dir, MarkerName))
	}
	return m, nil
}

// removeStale removes the temporary directories that earlier runs writing
// base left in parent when they were killed: only those with a scalebench
// marker naming this host and a process that no longer exists.
func removeStale(parent, base string, log io.Writer) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	host, _ := os.Hostname()
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tmpPrefix(base)) {
			continue
		}
		path := filepath.Join(parent, e.Name())
		m, err := readMarker(path)
		if err != nil || m.Host != host || m.PID <= 0 || alive(m.PID) {
			continue
		}
		if err := os.RemoveAll(path); err == nil && log != nil {
			fmt.Fprintf(log, "scalebench: removed %s, left by a run (pid %d, started %s) that was killed\n",
				path, m.PID, m.Started.Format(time.RFC3339))
		}
	}
}

// alive reports whether a process with this pid exists. EPERM means it
// exists but is another user's.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Path returns the path of name inside the temporary directory.
func (o *OutDir) Path(name string) string { return filepath.Join(o.tmp, name) }

// Final is where the directory lands at Commit.
func (o *OutDir) Final() string { return o.final }

// Commit moves the directory into place, replacing an older one. The swap is
// one atomic exchange where the file system supports it, so no moment exists
// when dir is missing; the old content then goes with the temporary name.
func (o *OutDir) Commit() error {
	if err := os.Chmod(o.tmp, 0o755); err != nil {
		return err
	}
	if _, err := os.Lstat(o.final); err != nil {
		return os.Rename(o.tmp, o.final)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, o.tmp, unix.AT_FDCWD, o.final, unix.RENAME_EXCHANGE); err == nil {
		return os.RemoveAll(o.tmp) // now the old directory
	}
	// No exchange here: move the old one to a hidden name of our own (never a
	// sibling the user may have), then the new one into place.
	old, err := os.MkdirTemp(filepath.Dir(o.final), "."+filepath.Base(o.final)+".old-")
	if err != nil {
		return err
	}
	if err := os.Remove(old); err != nil {
		return err
	}
	if err := os.Rename(o.final, old); err != nil {
		return fmt.Errorf("replace %s: %w", o.final, err)
	}
	defer os.RemoveAll(old)
	return os.Rename(o.tmp, o.final)
}

// Abort removes the temporary directory. It is safe after Commit.
func (o *OutDir) Abort() {
	if _, err := os.Lstat(o.tmp); err == nil {
		os.RemoveAll(o.tmp)
	}
}
