package results

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func commitOut(t *testing.T, dir string, opts ...OutOption) error {
	t.Helper()
	o, err := CreateOutDir(dir, opts...)
	if err != nil {
		return err
	}
	writeFile(t, o.Path("summary.json"), "{}")
	return o.Commit()
}

// TestOutDirKeepsUserData: --out never deletes what is not scalebench's own
// output unless forced, and never touches siblings.
func TestOutDirKeepsUserData(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, out string)
		force   bool
		refused bool
		kept    string // a path that must survive
	}{
		{"missing", func(*testing.T, string) {}, false, false, ""},
		{"empty directory", func(t *testing.T, out string) { os.Mkdir(out, 0o755) }, false, false, ""},
		{"user's directory", func(t *testing.T, out string) { writeFile(t, filepath.Join(out, "keep.txt"), "x") }, false, true, "keep.txt"},
		{"user's file", func(t *testing.T, out string) { writeFile(t, out, "x") }, false, true, ""},
		{"user's directory, forced", func(t *testing.T, out string) { writeFile(t, filepath.Join(out, "keep.txt"), "x") }, true, false, ""},
		{"user's file, forced", func(t *testing.T, out string) { writeFile(t, out, "x") }, true, false, ""},
		{"previous output", func(t *testing.T, out string) {
			if err := commitOut(t, out); err != nil {
				t.Fatal(err)
			}
		}, false, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			out := filepath.Join(parent, "d")
			writeFile(t, filepath.Join(parent, "d.old", "mine.txt"), "sibling")
			writeFile(t, filepath.Join(parent, "other", "x"), "x")
			c.setup(t, out)
			err := commitOut(t, out, Force(c.force))
			if c.refused {
				if !errors.Is(err, ErrNotOutput) {
					t.Fatalf("err = %v, want a refusal wrapping ErrNotOutput", err)
				}
				if !strings.Contains(err.Error(), "--force") {
					t.Errorf("refusal %q does not say how to override", err)
				}
				if c.kept != "" {
					if _, err := os.Stat(filepath.Join(out, c.kept)); err != nil {
						t.Errorf("refused, but the user's %s is gone", c.kept)
					}
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if !IsOutput(out) {
					t.Error("the committed directory has no marker")
				}
				if _, err := os.Stat(filepath.Join(out, "summary.json")); err != nil {
					t.Error(err)
				}
			}
			for _, sib := range []string{"d.old/mine.txt", "other/x"} {
				if _, err := os.Stat(filepath.Join(parent, sib)); err != nil {
					t.Errorf("sibling %s touched: %v", sib, err)
				}
			}
			entries, _ := os.ReadDir(parent)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("hidden leftover %s", e.Name())
				}
			}
		})
	}
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return cmd.Process.Pid
}

// TestOutDirRemovesStaleTemporaries: a run killed with SIGKILL leaves its
// temporary directory; the next run of the same --out removes it, says so,
// and leaves alone temporaries of live runs and of other outputs.
func TestOutDirRemovesStaleTemporaries(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "d")
	host, _ := os.Hostname()
	mk := func(name string, pid int) string {
		dir := filepath.Join(parent, name)
		writeFile(t, filepath.Join(dir, "big.bin"), "data")
		writeFile(t, filepath.Join(dir, MarkerName), `{"tool":"scalebench","pid":`+strconv.Itoa(pid)+`,"host":"`+host+`"}`)
		return dir
	}
	stale := mk(".d.tmp-111", deadPID(t))
	live := mk(".d.tmp-222", os.Getpid())
	otherOut := mk(".e.tmp-333", deadPID(t))
	foreign := filepath.Join(parent, ".d.tmp-444")
	writeFile(t, filepath.Join(foreign, "x"), "no marker")

	var log bytes.Buffer
	if err := commitOut(t, out, LogTo(&log)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary of a dead run kept: %v", err)
	}
	if !strings.Contains(log.String(), "removed "+stale) {
		t.Errorf("log %q does not name the removed temporary", log.String())
	}
	for _, keep := range []string{live, otherOut, foreign} {
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("%s removed: %v", keep, err)
		}
	}
}
