package main

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
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
		{name: "cluster up without binaries", args: []string{"cluster", "up", "--dir", t.TempDir(), "--bin-dir", t.TempDir()}, code: 1, err: "make controlplane"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRootForKubeTest()
			root.SetArgs(tc.args)
			err := root.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want one containing %q", err, tc.err)
			}
			code := 1
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			}
			if code != tc.code {
				t.Fatalf("exit status %d, want %d (%v)", code, tc.code, err)
			}
		})
	}
}

func TestClusterDownWithoutCluster(t *testing.T) {
	root := newRootForKubeTest()
	root.SetArgs([]string{"cluster", "down", "--dir", t.TempDir()})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
}

// newRootForKubeTest is a fresh command tree with only the Kubernetes
// commands, so each case parses its flags anew.
func newRootForKubeTest() *cobra.Command {
	r := &cobra.Command{Use: "scalebench", SilenceUsage: true, SilenceErrors: true}
	r.AddCommand(newClusterCmd(), newNodeCmd())
	r.SetOut(io.Discard)
	r.SetErr(io.Discard)
	return r
}
