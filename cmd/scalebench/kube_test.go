package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestKubeCommandsBadInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	for _, tc := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{name: "node without a kubeconfig file", args: []string{"node", "--kubeconfig", missing}, code: 2, err: "kubeconfig"},
		{name: "node with a bad image command", args: []string{"node", "--image-command", "no-equals-sign"}, code: 2, err: "want IMAGE=COMMAND"},
		{name: "node with an unbalanced image command", args: []string{"node", "--image-command", "img=./server 'oops"}, code: 2, err: "--image-command"},
		{name: "run on a cluster without a kubeconfig file", args: []string{"run", "--backend", "kubernetes", "--kubeconfig", missing, "--function-cmd", "true", "--pattern", "constant:rate=1", "--duration", "1s", "--policy", "kpa", "--out", filepath.Join(t.TempDir(), "o")}, code: 2, err: "kubeconfig"},
		{name: "cluster up without binaries", args: []string{"cluster", "up", "--dir", t.TempDir(), "--bin-dir", t.TempDir()}, code: 1, err: "make controlplane"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := execCommand(t, tc.args[0], tc.args[1:]...)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want one containing %q", err, tc.err)
			}
			if code != tc.code {
				t.Fatalf("exit status %d, want %d (%v)", code, tc.code, err)
			}
		})
	}
}

func TestClusterDownWithoutCluster(t *testing.T) {
	if _, err := execCommand(t, "cluster", "down", "--dir", t.TempDir()); err != nil {
		t.Fatal(err)
	}
}
