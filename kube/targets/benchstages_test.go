package targets

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// bench.sh applies a function's stages at their times from the start of
// each target's traffic. kind cannot run here, so kubectl and the bench are
// stand-ins that log what they are asked (the manifests are the real
// command's): the order of the calls and the time of the later stage are
// what is checked.
func TestBenchShAppliesStagesAtTheirTimes(t *testing.T) {
	root := repoRoot(t)
	dir := t.TempDir()
	real := filepath.Join(dir, "scalebench-real")
	build := exec.Command("go", "build", "-o", real, "./cmd/scalebench")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	log := filepath.Join(dir, "calls.log")
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	stamp := `printf '%s %s\n' "$(date +%s.%N)" "$*" >>` + log
	os.WriteFile(filepath.Join(bin, "kubectl"), []byte("#!/usr/bin/env bash\n"+strings.Replace(stamp, "$*", "kubectl $*", 1)+"\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "curl"), []byte("#!/usr/bin/env bash\nexit 1\n"), 0o755)
	fake := `#!/usr/bin/env bash
if [ "$1" != bench ]; then exec ` + real + ` "$@"; fi
while [ $# -gt 0 ]; do [ "$1" = --real-policies ] && policy="$2"; shift; done
` + strings.Replace(stamp, "$*", "traffic $policy", 1) + `
echo "real kind stg/$policy (10s)..." >&2
sleep 3
`
	os.WriteFile(filepath.Join(bin, "scalebench"), []byte(fake), 0o755)
	scenario := filepath.Join(dir, "stg.yaml")
	os.WriteFile(scenario, []byte(`name: stg
duration: 10s
functions:
  - name: api
    revisions:
      - name: v1
      - name: v2
    split:
      - {at: 2500ms, rollout: v2, duration: 1m}
traffic: constant:rate=1
policies: [knative, kpa]
`), 0o644)
	cmd := exec.Command("bash", "kind-config/bench.sh")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DRY_RUN=0", "SCENARIO="+scenario, "OUT="+filepath.Join(dir, "out"), "SCALEBENCH="+filepath.Join(bin, "scalebench"),
		"PATH="+bin+":"+os.Getenv("PATH"), "IMAGE=", "ROLLOUT=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bench.sh: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	at := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		ts, call, _ := strings.Cut(line, " ")
		call = strings.ReplaceAll(call, filepath.Join(dir, "out.manifests")+"/", "")
		calls = append(calls, call)
		at[call], _ = strconv.ParseFloat(ts, 64)
	}
	want := []string{
		"kubectl apply -f targets.yaml",
		"kubectl apply -f stages/00-knative.yaml",
		"kubectl -n scalebench-bench wait revisions.serving.knative.dev/api-v1 --for condition=Ready --timeout 300s",
		"traffic knative",
		"kubectl apply -f stages/01-knative.yaml",
		"kubectl delete --ignore-not-found --cascade=foreground -f stages/00-knative.yaml",
		"kubectl delete --ignore-not-found --cascade=foreground -f stages/01-knative.yaml",
		"kubectl apply -f stages/02-scalebench.yaml",
		"kubectl -n scalebench-bench wait deployment -l scalebench.dev/target=scalebench --for condition=Available --timeout 300s",
		"traffic kpa",
		"kubectl -n scalebench-bench annotate --overwrite configmap -l scalebench.dev/route scalebench.dev/route-start=",
		"kubectl apply -f stages/03-scalebench.yaml",
		"kubectl delete --ignore-not-found --cascade=foreground -f stages/02-scalebench.yaml",
		"kubectl delete --ignore-not-found --cascade=foreground -f stages/03-scalebench.yaml",
	}
	if len(calls) != len(want) {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(calls[i], want[i]) {
			t.Fatalf("call %d: %q, want %q\nall:\n%s", i, calls[i], want[i], strings.Join(calls, "\n"))
		}
	}
	// v2's stage is applied 2.5 s after its target's traffic began: not
	// rounded to whole seconds, which put it up to 1.5 s early.
	for _, c := range [][2]string{{"traffic knative", "kubectl apply -f stages/01-knative.yaml"}, {"traffic kpa", "kubectl apply -f stages/03-scalebench.yaml"}} {
		if d := at[c[1]] - at[c[0]]; d < 2.4 || d > 4 {
			t.Errorf("%s %.2f s after %s, want 2.5 s", c[1], d, c[0])
		}
	}
}
