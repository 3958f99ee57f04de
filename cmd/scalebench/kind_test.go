package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKindManifestsUserImageFlags(t *testing.T) {
	sc := filepath.Join("..", "..", "scenarios", "library", "spike.yaml")
	for _, tc := range []struct {
		name string
		args []string
		err  string // empty: succeeds
	}{
		{name: "user image", args: []string{"--image", "registry.example.com/me/fn:v2", "--port", "9000", "--readiness", "/healthz"}},
		{name: "http: readiness", args: []string{"--image", "dev.local/fn", "--readiness", "http:/ready"}},
		{name: "port without image", args: []string{"--port", "9000"}, err: "give --image too"},
		{name: "readiness without image", args: []string{"--readiness", "/healthz"}, err: "give --image too"},
		{name: "bad readiness", args: []string{"--image", "x", "--readiness", "exec"}, err: `--readiness: want tcp, /PATH or http:/PATH such as /healthz, got "exec"`},
		{name: "reserved port", args: []string{"--image", "x", "--port", "9091"}, err: "port 9091 is reserved"},
		{name: "port 0", args: []string{"--image", "x", "--port", "0"}, err: "--port 0: want 1 to 65535"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m")
			code, err := execCommand(t, "kind", append([]string{"manifests", "--scenario", sc, "--out", out}, tc.args...)...)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(filepath.Join(out, "targets.yaml")); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") || code != 2 {
				t.Fatalf("exit %d, err %v; want 2 and one line containing %q", code, err, tc.err)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("--out written on bad input: %v", err)
			}
		})
	}
}

func TestKindManifestsRolloutFlags(t *testing.T) {
	sc := filepath.Join("..", "..", "scenarios", "library", "rollout-canary.yaml")
	for _, tc := range []struct {
		name string
		args []string
		err  string // empty: succeeds
	}{
		{name: "the scenario's own split", args: nil},
		{name: "a variant", args: []string{"--rollout", "canary"}},
		{name: "a match variant with its pods", args: []string{"--rollout", "prescaled", "--match-pods", "5"}},
		{name: "unknown variant", args: []string{"--rollout", "nope"}, err: `--rollout "nope"`},
		{name: "a match variant without its pods", args: []string{"--rollout", "prescaled"}, err: "--match-pods N"},
		{name: "negative pods", args: []string{"--rollout", "prescaled", "--match-pods", "-1"}, err: "--match-pods -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m")
			code, err := execCommand(t, "kind", append([]string{"manifests", "--scenario", sc, "--out", out}, tc.args...)...)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range []string{"targets.yaml", "stages.tsv", "runs.tsv", "notes.md"} {
					if _, err := os.Stat(filepath.Join(out, f)); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") || code != 2 {
				t.Fatalf("exit %d, err %v; want 2 and one line containing %q", code, err, tc.err)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("--out written on bad input: %v", err)
			}
		})
	}
}
