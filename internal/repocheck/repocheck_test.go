package repocheck

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// root is the repository's top directory.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s", dir)
	}
	return dir
}

// files lists what a clone would hold: the tracked files, plus new files not
// yet committed that git does not ignore (so the check sees work in
// progress too).
func files(t *testing.T, dir string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): the stand-alone checks need git ls-files", err)
	}
	var list []string
	for _, f := range strings.Split(string(out), "\x00") {
		if f == "" {
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, f)); err != nil {
			continue // deleted in the work tree, not yet committed
		}
		list = append(list, f)
	}
	sort.Strings(list)
	return list
}

func isText(b []byte) bool { return !bytes.Contains(b, []byte{0}) }

// outside are the ways a file could reach past the repository: the team's
// folder beside it, and this workplace's absolute paths.
var outside = regexp.MustCompile(`\.\./shared\b|\bshared/(reference|data)\b|/work/`)

// TestNamesNothingOutside fails on any tracked text file that names a path
// outside the repository.
func TestNamesNothingOutside(t *testing.T) {
	dir := root(t)
	self := filepath.ToSlash(filepath.Join("internal", "repocheck", "repocheck_test.go"))
	for _, f := range files(t, dir) {
		if f == self {
			continue // the pattern itself
		}
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !isText(b) {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
		for n := 1; sc.Scan(); n++ {
			if m := outside.FindString(sc.Text()); m != "" {
				t.Errorf("%s:%d: names %q, a path outside the repository", f, n, m)
			}
		}
	}
}

// clone copies the files a clone holds into an empty temporary folder with
// nothing beside it, and returns the copy's root.
func clone(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "scalebench")
	for _, f := range files(t, dir) {
		src := filepath.Join(dir, f)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in the clone, %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestCloneStandsAlone runs, in a copy of the repository with nothing beside
// it, the library scenario that replays the Azure 2019 sample and the tests
// of the trace readers.
func TestCloneStandsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs scalebench in a copy of the repository")
	}
	dir := clone(t, root(t))
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "shared")); err == nil {
		t.Fatal("the copy has a shared/ beside it; the test needs an empty folder")
	}
	run(t, dir, "go", "build", "-o", "bin/scalebench", "./cmd/scalebench")
	out := filepath.Join(t.TempDir(), "azure-kpa")
	run(t, dir, filepath.Join(dir, "bin", "scalebench"), "sim",
		"--scenario", "scenarios/library/azure2019.yaml", "--policy", "kpa", "--duration", "2m", "--out", out)
	if _, err := os.Stat(filepath.Join(out, "summary.json")); err != nil {
		t.Fatalf("sim of the azure2019 library scenario wrote no summary.json: %v", err)
	}
	run(t, dir, "go", "test", "-count=1", "-run", "Azure2019|Trace|Sparse", "./traffic/", "./scenarios/", "./loadgen/")
}

// topDirs are the repository's top-level folders: a word followed by one of
// them and a slash is a path into the repository.
func topDirs(list []string) []string {
	seen := map[string]bool{}
	for _, f := range list {
		if i := strings.IndexByte(f, '/'); i > 0 && !strings.HasPrefix(f, ".") {
			seen[f[:i]] = true
		}
	}
	var dirs []string
	for d := range seen {
		dirs = append(dirs, regexp.QuoteMeta(d))
	}
	sort.Strings(dirs)
	return dirs
}

// mdLink is a relative markdown link target.
var mdLink = regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)

// TestNamedPathsExist walks the README, docs/, every markdown file, and the
// --help text of every subcommand, and checks that each path into the
// repository they name exists.
func TestNamedPathsExist(t *testing.T) {
	dir := root(t)
	list := files(t, dir)
	pathRe := regexp.MustCompile(`(?:^|[\s\x60'"(=])((?:` + strings.Join(topDirs(list), "|") + `)/[A-Za-z0-9_./-]*[A-Za-z0-9_/])`)

	type text struct{ name, body, base string }
	var texts []text
	for _, f := range list {
		if strings.HasSuffix(f, ".md") {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			texts = append(texts, text{f, string(b), filepath.Dir(f)})
		}
	}

	bin := filepath.Join(t.TempDir(), "scalebench")
	build := exec.Command("go", "build", "-o", bin, "./cmd/scalebench")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	help := func(args ...string) string {
		out, err := exec.Command(bin, append(args, "--help")...).CombinedOutput()
		if err != nil {
			t.Fatalf("scalebench %s --help: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	top := help()
	texts = append(texts, text{"scalebench --help", top, "."})
	inCommands := false
	for _, line := range strings.Split(top, "\n") {
		switch {
		case strings.HasPrefix(line, "Available Commands:"):
			inCommands = true
		case inCommands && strings.TrimSpace(line) == "":
			inCommands = false
		case inCommands:
			sub := strings.Fields(line)[0]
			if sub == "help" || sub == "completion" {
				continue
			}
			texts = append(texts, text{"scalebench " + sub + " --help", help(sub), "."})
		}
	}
	if len(texts) < 10 {
		t.Fatalf("found only %d texts to check", len(texts))
	}

	checked := 0
	for _, tx := range texts {
		for n, line := range strings.Split(tx.body, "\n") {
			for _, m := range pathRe.FindAllStringSubmatch(line, -1) {
				p := strings.TrimRight(m[1], ".")
				checked++
				if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
					t.Errorf("%s:%d: names %s, which does not exist", tx.name, n+1, p)
				}
			}
			if !strings.HasSuffix(tx.name, ".md") {
				continue
			}
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				p := m[1]
				if strings.Contains(p, "://") || strings.HasPrefix(p, "mailto:") {
					continue
				}
				checked++
				if _, err := os.Stat(filepath.Join(dir, tx.base, p)); err != nil {
					t.Errorf("%s:%d: links to %s, which does not exist", tx.name, n+1, p)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no path was checked: the pattern is broken")
	}
	t.Logf("checked %d paths in %d texts", checked, len(texts))
}
