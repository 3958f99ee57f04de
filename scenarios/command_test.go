package scenarios

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/badinput"
)

func TestParseFunctionBlock(t *testing.T) {
	const head = "duration: 1m\ntraffic: constant:rate=1\n"
	dir, _ := filepath.Abs("dir")
	cases := []struct {
		name string
		yaml string
		want map[string]*Command // by function name
	}{
		{"top level, list, http readiness", head + "function:\n  command: [./server, --init, 100ms]\n  env: {B: '2', A: '1'}\n  readiness: {http: /healthz}\n  probe-period: 10ms\n",
			map[string]*Command{"fn": {Argv: []string{filepath.Join(dir, "server"), "--init", "100ms"}, Dir: dir, Env: []string{"A=1", "B=2"},
				PortEnv: "PORT", ReadinessPath: "/healthz", ProbePeriod: 10 * time.Millisecond}}},
		{"string command, tcp, own port variable", head + "function: {command: \"python3 server.py --init '100 ms'\", port-env: HTTP_PORT, readiness: {tcp: true}}\n",
			map[string]*Command{"fn": {Argv: []string{"python3", "server.py", "--init", "100 ms"}, Dir: dir, PortEnv: "HTTP_PORT"}}},
		{"per function overrides the top level", head + "function: {command: [a]}\nfunctions:\n  - name: x\n  - name: y\n    function: {command: [b]}\n",
			map[string]*Command{"x": {Argv: []string{"a"}, Dir: dir, PortEnv: "PORT"}, "y": {Argv: []string{"b"}, Dir: dir, PortEnv: "PORT"}}},
		{"no block runs cmd/fn", head, map[string]*Command{"fn": nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("dir/s.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range s.Functions {
				if want, ok := tc.want[f.Name]; !ok || !reflect.DeepEqual(f.Command, want) {
					t.Fatalf("function %s: command %+v, want %+v", f.Name, f.Command, want)
				}
			}
		})
	}
}

func TestParseFunctionBlockErrors(t *testing.T) {
	const head = "duration: 1m\ntraffic: constant:rate=1\n"
	cases := []struct {
		name, yaml, want string
	}{
		{"missing command", head + "function:\n  env: {A: b}\n", "s.yaml:4: function.command: missing"},
		{"empty command", head + "function:\n  command: []\n", "s.yaml:4: function.command: want a program"},
		{"command of a mapping", head + "function:\n  command: {a: b}\n", "s.yaml:4: function.command: want the program"},
		{"unbalanced quote", head + "function: {command: \"a 'b\"}\n", "s.yaml:3: function.command:"},
		{"both probes", head + "function:\n  command: [a]\n  readiness: {http: /h, tcp: true}\n", "s.yaml:5: function.readiness: give either"},
		{"no probe", head + "function:\n  command: [a]\n  readiness: {}\n", "s.yaml:5: function.readiness: want http"},
		{"path without slash", head + "function:\n  command: [a]\n  readiness: {http: healthz}\n", "s.yaml:5: function.readiness.http: want a path"},
		{"tcp false", head + "function:\n  command: [a]\n  readiness: {tcp: false}\n", "function.readiness.tcp: want true"},
		{"probe period too short", head + "function:\n  command: [a]\n  probe-period: 0s\n", "s.yaml:5: function.probe-period: want a period"},
		{"bad env name", head + "function:\n  command: [a]\n  env: {'A=B': c}\n", "s.yaml:5: function.env: environment variable name"},
		{"unknown key", head + "function:\n  command: [a]\n  image: x\n", "s.yaml:5: function.image"},
		{"per function", head + "functions:\n  - name: f\n    function: {port-env: ''}\n", "s.yaml:5: functions[0].function.port-env: want a non-empty string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.yaml))
			var pe *badinput.Error
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a badinput.Error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseCommandLine(t *testing.T) {
	c, err := ParseCommand(`./bin/server --name "two words"`, "/srv/app")
	if err != nil || !reflect.DeepEqual(c.Argv, []string{"/srv/app/bin/server", "--name", "two words"}) {
		t.Fatalf("%+v, %v", c, err)
	}
	if _, err := ParseCommand("  ", "/"); err == nil {
		t.Fatal("empty command accepted")
	}
	for spec, want := range map[string]string{"tcp": "", "http:/healthz": "/healthz"} {
		if got, err := ParseReadiness(spec); err != nil || got != want {
			t.Fatalf("ParseReadiness(%q) = %q, %v", spec, got, err)
		}
	}
	if _, err := ParseReadiness("exec"); err == nil {
		t.Fatal("readiness exec accepted")
	}
}
