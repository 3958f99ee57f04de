package scenarios

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/shlex"
	"go.yaml.in/yaml/v3"
)

// Command is the user's own function, run on real platforms instead of the
// project's cmd/fn (a scenario's `function:` block). It follows the runtime
// contract of docs/readme-platform.md: any program that serves HTTP on
// 127.0.0.1 at the port in PortEnv and passes its readiness probe. The
// simulator does not run it: it models the start-up phases instead.
type Command struct {
	// Argv is the program and its arguments. A program given as a path
	// (with a slash) is made absolute against Dir.
	Argv []string
	// Dir is where the program runs: the scenario file's directory, or the
	// current directory for --function-cmd.
	Dir string
	// Env is added to the environment, KEY=VALUE each, in key order.
	Env []string
	// PortEnv names the variable carrying the port; default PORT.
	PortEnv string
	// ReadinessPath is the HTTP readiness probe's path; empty means a TCP
	// probe (the port accepts a connection).
	ReadinessPath string
	// ProbePeriod is the readiness probe's period once the pod has been
	// ready (probing is aggressive until then); 0 means the platform's
	// default (10 s).
	ProbePeriod time.Duration
}

// ParseCommand builds a Command from a shell-like command line such as
// `./myserver --flag 'two words'` (quotes group, no shell expansion), run in
// dir.
func ParseCommand(line, dir string) (*Command, error) {
	argv, err := shlex.Split(line)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, errEmptyCommand
	}
	c := &Command{Argv: argv, Dir: dir}
	c.absolute()
	return c, nil
}

type commandError string

func (e commandError) Error() string { return string(e) }

const errEmptyCommand = commandError("want a program and its arguments, got none")

// absolute makes a program given as a relative path absolute against Dir,
// so it does not depend on where the platform runs.
func (c *Command) absolute() {
	if p := c.Argv[0]; strings.Contains(p, "/") && !filepath.IsAbs(p) {
		c.Argv[0] = filepath.Join(c.Dir, p)
	}
}

// ParseReadiness reads a readiness probe spec: "tcp", or "http:/path".
func ParseReadiness(spec string) (path string, err error) {
	switch {
	case spec == "tcp":
		return "", nil
	case strings.HasPrefix(spec, "http:/"):
		return strings.TrimPrefix(spec, "http:"), nil
	}
	return "", commandError("want tcp or http:/PATH such as http:/healthz, got " + spec)
}

// command decodes a `function:` block.
func (w *walker) command(n *yaml.Node, path string) (*Command, error) {
	dir := filepath.Dir(w.file)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	c := &Command{Dir: dir}
	var cmdNode *yaml.Node
	err := w.mapping(n, path, []field{
		{"command", func(k string, v *yaml.Node) error {
			cmdNode = v
			switch v.Kind {
			case yaml.ScalarNode:
				argv, err := shlex.Split(v.Value)
				if err != nil {
					return w.errf(v, k, "%v", err)
				}
				c.Argv = argv
			case yaml.SequenceNode:
				for i, item := range v.Content {
					s, err := w.str(item, fmt.Sprintf("%s[%d]", k, i))
					if err != nil {
						return err
					}
					c.Argv = append(c.Argv, s)
				}
			default:
				return w.errf(v, k, "want the program and its arguments, as a list like [./server, --port-env] or a string, got %s", kindName(v))
			}
			if len(c.Argv) == 0 || c.Argv[0] == "" {
				return w.errf(v, k, "%v", errEmptyCommand)
			}
			return nil
		}},
		{"env", func(k string, v *yaml.Node) error {
			m, err := w.stringMap(v, k)
			if err != nil {
				return err
			}
			keys := make([]string, 0, len(m))
			for key := range m {
				if key == "" || strings.ContainsAny(key, "=\x00") {
					return w.errf(v, k, "environment variable name %q: want a name without = or NUL", key)
				}
				keys = append(keys, key)
			}
			sort.Strings(keys)
			for _, key := range keys {
				c.Env = append(c.Env, key+"="+m[key])
			}
			return nil
		}},
		{"port-env", func(k string, v *yaml.Node) (err error) {
			if c.PortEnv, err = w.str(v, k); err == nil && (c.PortEnv == "" || strings.ContainsAny(c.PortEnv, "=\x00 ")) {
				err = w.errf(v, k, "want an environment variable name such as PORT, got %q", c.PortEnv)
			}
			return
		}},
		{"readiness", func(k string, v *yaml.Node) error {
			var tcp, haveTCP bool
			var httpPath string
			if err := w.mapping(v, k, []field{
				{"http", func(k string, v *yaml.Node) (err error) {
					if httpPath, err = w.str(v, k); err == nil && !strings.HasPrefix(httpPath, "/") {
						err = w.errf(v, k, "want a path starting with /, such as /healthz, got %q", httpPath)
					}
					return
				}},
				{"tcp", func(k string, v *yaml.Node) (err error) {
					haveTCP = true
					s, err := w.scalar(v, k, "true")
					if err == nil && s != "true" {
						err = w.errf(v, k, "want true (a TCP probe), got %q; give http: /PATH for an HTTP probe", s)
					}
					tcp = err == nil
					return
				}},
			}); err != nil {
				return err
			}
			switch {
			case httpPath != "" && haveTCP:
				return w.errf(v, k, "give either http: /PATH or tcp: true, not both")
			case httpPath == "" && !tcp:
				return w.errf(v, k, "want http: /PATH or tcp: true")
			}
			c.ReadinessPath = httpPath
			return nil
		}},
		{"probe-period", func(k string, v *yaml.Node) (err error) {
			if c.ProbePeriod, err = w.dur(v, k); err == nil && (c.ProbePeriod < time.Millisecond || c.ProbePeriod > time.Hour) {
				err = w.errf(v, k, "want a period from 1ms to 1h, got %s", c.ProbePeriod)
			}
			return
		}},
	})
	if err != nil {
		return nil, err
	}
	if cmdNode == nil {
		return nil, w.errf(n, join(path, "command"), "missing; want the program that serves the function on $PORT, such as [./server]")
	}
	c.absolute()
	if c.PortEnv == "" {
		c.PortEnv = "PORT"
	}
	return c, nil
}
