package bench

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalebench/scalebench/badinput"
)

func TestKubernetesBackendBadInput(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{name: "no cmd/fn for the own node", cfg: Config{FnBinary: filepath.Join(t.TempDir(), "fn")}, err: "make build"},
		{name: "kubeconfig missing", cfg: Config{Kubeconfig: filepath.Join(t.TempDir(), "nope")}, err: "kubeconfig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReal("kubernetes", tc.cfg)
			if !badinput.Is(err) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want bad input containing %q", err, tc.err)
			}
		})
	}
}

// TestEnterOnlyForTheOwnControlPlane: only the kubernetes backend without a
// cluster of its own runs the command again in a network namespace.
func TestEnterOnlyForTheOwnControlPlane(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	for _, tc := range []struct{ name, backend, kubeconfig string }{
		{"local", "local", ""},
		{"kind", "kind", ""},
		{"kubernetes on a given cluster", "kubernetes", "/some/kubeconfig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, entered, err := Enter(tc.backend, tc.kubeconfig); entered || err != nil {
				t.Fatalf("Enter = entered %v, %v; want neither", entered, err)
			}
		})
	}
}
