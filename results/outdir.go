package results

import (
	"fmt"
	"os"
	"path/filepath"
)

// OutDir is an output directory written atomically: files go into a hidden
// temporary sibling, and Commit renames it into place. A run that fails or is
// abandoned leaves no half-written directory behind (Abort removes it).
type OutDir struct {
	final string
	tmp   string
}

// CreateOutDir prepares dir for writing. An existing dir is replaced only at
// Commit.
func CreateOutDir(dir string) (*OutDir, error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, err
	}
	return &OutDir{final: dir, tmp: tmp}, nil
}

// Path returns the path of name inside the temporary directory.
func (o *OutDir) Path(name string) string { return filepath.Join(o.tmp, name) }

// Final is where the directory lands at Commit.
func (o *OutDir) Final() string { return o.final }

// Commit moves the directory into place, replacing an older one.
func (o *OutDir) Commit() error {
	if err := os.Chmod(o.tmp, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(o.final); err == nil {
		old := o.final + ".old"
		os.RemoveAll(old)
		if err := os.Rename(o.final, old); err != nil {
			return fmt.Errorf("replace %s: %w", o.final, err)
		}
		defer os.RemoveAll(old)
	}
	return os.Rename(o.tmp, o.final)
}

// Abort removes the temporary directory. It is safe after Commit.
func (o *OutDir) Abort() { os.RemoveAll(o.tmp) }
