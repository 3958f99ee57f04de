package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalebench/scalebench/results"
)

// Every command that takes --out refuses a directory that holds the
// user's files (exit 2, one line naming --force, the files kept), replaces
// it with --force, replaces its own earlier output without being told, and
// never touches a sibling such as d.old (which --out d used to delete).
func TestOutRefusesWhatIsNotAnOutput(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	tmp := t.TempDir()
	sc := filepath.Join(tmp, "suite", "small.yaml")
	if err := os.MkdirAll(filepath.Dir(sc), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sc, []byte(planScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	fn := filepath.Join(buildFn(t, false), "fn")

	for _, c := range []struct {
		name string
		args []string
		// run says whether the command is also run for real, with --force
		// and over its own output: a platform run of run and calibrate
		// takes longer than their refusal is worth proving again.
		run bool
	}{
		{"sim", []string{"sim", "--pattern", "constant:rate=10", "--duration", "10s"}, true},
		{"load", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=20", "--duration", "200ms"}, true},
		{"plan", []string{"plan", "--scenario", sc, "--budget", "20"}, true},
		{"bench", []string{"bench", "--suite", filepath.Dir(sc), "--real", "0"}, true},
		{"run", []string{"run", "--pattern", "constant:rate=2", "--duration", "1s", "--fn-binary", fn}, false},
		{"calibrate", []string{"calibrate", "--scenario", sc, "--policy", "kpa", "--duration", "2s", "--fn-binary", fn}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			keep, sibling := filepath.Join(dir, "keep.txt"), filepath.Join(dir+".old", "keep.txt")
			for _, f := range []string{keep, sibling} {
				if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f, []byte("x\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := append(append([]string(nil), c.args...), "--out", dir)

			stderr, code := runCmd(args...)
			if code != 2 || !strings.Contains(stderr, "--force") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Fatalf("over a directory of the user's: exit %d, %q; want 2 and one line naming --force", code, stderr)
			}
			mustHold(t, keep, sibling)
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".d.tmp-*")); len(left) > 0 {
				t.Errorf("temporaries left behind: %v", left)
			}

			// A file where the directory should go is refused too.
			file := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(file, []byte("mine\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, code := runCmd(append(append([]string(nil), c.args...), "--out", file)...); code != 2 {
				t.Errorf("over a file: exit %d, want 2", code)
			}
			mustHold(t, file)
			if !c.run {
				return
			}

			if stderr, code := runCmd(append(args, "--force")...); code != 0 {
				t.Fatalf("--force: exit %d: %s", code, stderr)
			}
			if _, err := os.Stat(keep); !os.IsNotExist(err) {
				t.Errorf("--force kept %s (%v)", keep, err)
			}
			if !results.IsOutput(dir) {
				t.Errorf("%s is not marked as a scalebench output", dir)
			}
			mustHold(t, sibling)

			// Its own output is replaced without --force.
			if stderr, code := runCmd(args...); code != 0 {
				t.Fatalf("over its own output: exit %d: %s", code, stderr)
			}
			mustHold(t, sibling)
		})
	}
}

// runCmd runs scalebench args... in process on a fresh root, as main does,
// and returns what went to stderr (the error as main prints it) and the
// exit status.
func runCmd(args ...string) (string, int) {
	root := newRootCmd()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil {
		stderr.WriteString("scalebench: " + err.Error() + "\n")
	}
	return stderr.String(), exitCode(err)
}

// mustHold fails unless each file still holds what the user put there.
func mustHold(t *testing.T, files ...string) {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || (string(b) != "x\n" && string(b) != "mine\n") {
			t.Errorf("%s: %q, %v: the user's file was touched", f, b, err)
		}
	}
}
