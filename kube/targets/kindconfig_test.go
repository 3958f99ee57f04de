package targets

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The kind-config scripts cannot run here (no container engine), so what can
// be checked without one is: they pass shellcheck, DRY_RUN=1 prints every
// step, and a missing tool stops them at once with its name.

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func scripts(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "kind-config", "*.sh"))
	if err != nil || len(files) < 8 {
		t.Fatalf("kind-config scripts: %v %v", files, err)
	}
	return files
}

func TestKindScriptsPassShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("shellcheck is not installed (make test installs it)")
		}
		t.Skip("shellcheck not installed; make test installs it")
	}
	cmd := exec.Command("shellcheck", append([]string{"-x"}, scripts(t)...)...)
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}

// pathWithout is a PATH holding only bash and the basics, without the
// cluster tools.
func pathWithout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []string{"bash", "dirname", "basename", "cat", "sed", "grep", "printf"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			continue
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestKindBenchDryRunPrintsEveryStep(t *testing.T) {
	root := repoRoot(t)
	cmd := exec.Command("bash", "kind-config/up.sh")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DRY_RUN=1", "PATH="+pathWithout(t))
	up, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("up.sh DRY_RUN=1: %v\n%s", err, up)
	}
	cmd = exec.Command("bash", "kind-config/bench.sh")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DRY_RUN=1", "SCENARIO=scenarios/library/spike.yaml", "PATH="+pathWithout(t))
	bench, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bench.sh DRY_RUN=1: %v\n%s", err, bench)
	}
	out := string(up) + string(bench)
	for _, want := range []string{
		"kind create cluster --name scalebench",
		"docker build --target fn-openfaas",
		"kind load docker-image",
		"metrics-server/releases/download/v0.7.2/components.yaml",
		"prometheus.yaml | kubectl apply -f -",
		"serving/releases/download/knative-v1.23.0/serving-core.yaml",
		"net-kourier/releases/download/knative-v1.23.0/kourier.yaml",
		"helm upgrade openfaas openfaas/openfaas --install --version 15.0.6",
		"kind manifests --scenario scenarios/library/spike.yaml",
		"kubectl apply -f out/kind-bench/spike.manifests/targets.yaml",
		"registries-skipping-tag-resolving",
		"/system/functions",
		"bench --backend kind --suite scenarios/library/spike.yaml",
		"(needs kind, not found here)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run does not show %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// make kind-bench IMAGE=... PORT=... READINESS=...: the user's image goes
// to kind manifests with its port and probe, and into the nodes; without
// IMAGE a stray PORT is not read.
func TestKindBenchDryRunUserImage(t *testing.T) {
	cases := []struct {
		name      string
		env       []string
		want, not []string
	}{
		{"user image", []string{"IMAGE=registry.example.com/me/fn:v2", "PORT=9000", "READINESS=/healthz"},
			[]string{"--image registry.example.com/me/fn:v2 --port 9000 --readiness /healthz", "kind load docker-image --name scalebench registry.example.com/me/fn:v2"}, nil},
		{"defaults", []string{"IMAGE=dev.local/fn"}, []string{"--image dev.local/fn --port 8080 --readiness tcp"}, nil},
		{"no image", []string{"PORT=3000"}, []string{"--fn-image scalebench.dev/fn:dev"}, []string{"--image", "--port", "kind load"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command("bash", "kind-config/bench.sh")
			cmd.Dir = repoRoot(t)
			cmd.Env = append(os.Environ(), "DRY_RUN=1", "SCENARIO=scenarios/library/spike.yaml", "IMAGE=", "READINESS=", "PORT=", "PATH="+pathWithout(t))
			cmd.Env = append(cmd.Env, c.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("dry run does not show %q:\n%s", w, out)
				}
			}
			for _, w := range c.not {
				if strings.Contains(string(out), w+" ") {
					t.Errorf("dry run shows %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestKindScriptsFailEarlyWithoutTheirTools(t *testing.T) {
	cases := []struct{ script, tool string }{
		{"up.sh", "docker"},
		{"down.sh", "kind"},
		{"install-openfaas.sh", "kubectl"},
		{"bench.sh", "kubectl"},
	}
	for _, c := range cases {
		t.Run(c.script, func(t *testing.T) {
			cmd := exec.Command("bash", filepath.Join("kind-config", c.script))
			cmd.Dir = repoRoot(t)
			cmd.Env = append(os.Environ(), "DRY_RUN=0", "SCENARIO=scenarios/library/spike.yaml", "PATH="+pathWithout(t))
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("ran without %s:\n%s", c.tool, out)
			}
			if !strings.Contains(string(out), c.tool+" is required") || strings.Contains(string(out), "==>") {
				t.Errorf("want a first line naming %s, before any step; got:\n%s", c.tool, out)
			}
		})
	}
}
