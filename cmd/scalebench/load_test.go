package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runLoadCmd runs scalebench with args in process, with the load command's
// flags back at their defaults (cobra keeps values between executions).
func runLoadCmd(t *testing.T, args ...string) error {
	t.Helper()
	for _, c := range root.Commands() {
		if c.Name() != "load" {
			continue
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if s, ok := f.Value.(pflag.SliceValue); ok {
				s.Replace(nil)
			} else {
				f.Value.Set(f.DefValue)
			}
			f.Changed = false
		})
	}
	root.SetArgs(args)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })
	return root.Execute()
}

func TestLoadCommandExitStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out")
	for _, tc := range []struct {
		name string
		args []string
		code int // 0 = success
	}{
		{"ok", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=20", "--duration", "200ms", "--out", out}, 0},
		{"no target", []string{"load", "--pattern", "constant:rate=1", "--duration", "1s", "--out", out}, 2},
		{"no out", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=1", "--duration", "1s"}, 2},
		{"bad pattern", []string{"load", "--target", srv.URL, "--pattern", "zigzag:rate=1", "--duration", "1s", "--out", out}, 2},
		{"bad duration", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=1", "--duration", "soon", "--out", out}, 2},
		{"zero duration", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=1", "--out", out}, 2},
		{"remote target", []string{"load", "--target", "http://192.0.2.1/", "--pattern", "constant:rate=1", "--duration", "1s", "--out", out}, 2},
		{"bad url", []string{"load", "--target", "127.0.0.1:80", "--pattern", "constant:rate=1", "--duration", "1s", "--out", out}, 2},
		{"name without scenario", []string{"load", "--target", "api=" + srv.URL, "--pattern", "constant:rate=1", "--duration", "1s", "--out", out}, 2},
		{"pattern and scenario", []string{"load", "--target", srv.URL, "--pattern", "constant:rate=1", "--scenario", "x.yaml", "--duration", "1s", "--out", out}, 2},
		{"missing scenario", []string{"load", "--target", srv.URL, "--scenario", filepath.Join(t.TempDir(), "none.yaml"), "--out", out}, 2},
		{"unknown flag", []string{"load", "--target", srv.URL, "--rate", "5"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runLoadCmd(t, tc.args...)
			code := 0
			if err != nil {
				code = 1
				var ee *exitError
				if errors.As(err, &ee) {
					code = ee.code
				}
			}
			if code != tc.code {
				t.Errorf("exit %d (%v), want %d", code, err, tc.code)
			}
		})
	}
}
