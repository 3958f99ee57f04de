package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/traffic"
)

// Defaults a scenario file may leave out; SCHEMA.md documents each.
const (
	DefaultSeed            = 1
	DefaultMemoryMB        = 128
	DefaultService         = "fixed:100ms"
	DefaultSchedule        = "fixed:50ms"
	DefaultContainerStart  = "lognormal:median=400ms,sigma=0.25"
	DefaultAppInit         = "lognormal:median=600ms,sigma=0.4"
	DefaultReadinessPeriod = 100 * time.Millisecond
)

// DefaultPolicies are compared when a scenario names none: the project's
// own autoscaler and its five peers.
var DefaultPolicies = []string{"kpa", "knative", "hpa", "openfaas-ce", "openfaas-pro", "keepalive"}

// KnownBackends are the worlds a scenario may name.
var KnownBackends = []string{"sim", "local", "kubernetes"}

// Load reads and parses a scenario file. Relative trace paths inside it are
// resolved against the file's directory.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, badinput.Errorf("scenario %s: %w", path, errors.Unwrap(err))
	}
	return Parse(path, data)
}

// Parse parses a scenario from data; file names it in errors and anchors
// relative paths. Every error is a *badinput.Error naming file, line and key.
func Parse(file string, data []byte) (*Scenario, error) {
	w := &walker{file: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, &badinput.Error{File: file, Msg: "empty file, want a scenario mapping (see scenarios/SCHEMA.md)"}
		}
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		line := 0
		if err == nil {
			line = extra.Line
		}
		return nil, &badinput.Error{File: file, Line: line, Msg: "more than one YAML document; want exactly one scenario"}
	}
	if len(doc.Content) == 0 {
		return nil, &badinput.Error{File: file, Msg: "empty file, want a scenario mapping (see scenarios/SCHEMA.md)"}
	}
	root := doc.Content[0]
	if err := rejectAliases(w, root); err != nil {
		return nil, err
	}
	s := &Scenario{File: file, Seed: DefaultSeed}
	var (
		fnNodes     []*yaml.Node
		trafficNode *yaml.Node
		durNode     *yaml.Node
		rolloutNode *yaml.Node
		// defaultCmd is the top-level function: block, the command of
		// every function without one of its own.
		defaultCmd *Command
	)
	err := w.mapping(root, "", []field{
		{"name", func(k string, v *yaml.Node) (err error) { s.Name, err = w.str(v, k); return }},
		{"description", func(k string, v *yaml.Node) (err error) { s.Description, err = w.str(v, k); return }},
		{"duration", func(k string, v *yaml.Node) (err error) {
			durNode = v
			s.Duration, err = w.dur(v, k)
			return
		}},
		{"seed", func(k string, v *yaml.Node) (err error) { s.Seed, err = w.int64v(v, k); return }},
		{"functions", func(k string, v *yaml.Node) (err error) { fnNodes, err = w.list(v, k); return }},
		{"traffic", func(k string, v *yaml.Node) error { trafficNode = v; return nil }},
		{"policies", func(k string, v *yaml.Node) (err error) { s.Policies, err = w.policies(v, k); return }},
		{"backends", func(k string, v *yaml.Node) (err error) { s.Backends, err = w.backends(v, k); return }},
		{"activator", func(k string, v *yaml.Node) error { return w.activator(v, k, &s.Activator) }},
		{"slos", func(k string, v *yaml.Node) (err error) { s.SLOs, err = w.slos(v, k); return }},
		{"rollouts", func(k string, v *yaml.Node) (err error) {
			rolloutNode = v
			s.Rollouts, err = w.rollouts(v, k)
			return
		}},
		{"function", func(k string, v *yaml.Node) (err error) { defaultCmd, err = w.command(v, k); return }},
	})
	if err != nil {
		return nil, err
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	if durNode == nil {
		return nil, w.errf(root, "duration", "missing; want how long traffic runs, like 5m")
	}
	if err := CheckDuration(s.Duration); err != nil {
		return nil, w.errf(durNode, "duration", "%v", err)
	}
	for i, n := range fnNodes {
		f, err := w.function(n, fmt.Sprintf("functions[%d]", i))
		if err != nil {
			return nil, err
		}
		for _, g := range s.Functions {
			if g.Name == f.Name {
				return nil, w.errf(n, fmt.Sprintf("functions[%d].name", i), "function %q given twice", f.Name)
			}
		}
		s.Functions = append(s.Functions, f)
	}
	if trafficNode == nil {
		return nil, w.errf(root, "traffic", "missing; want a pattern like constant:rate=100 or a trace (see scenarios/SCHEMA.md)")
	}
	if err := w.traffic(trafficNode, "traffic", s); err != nil {
		return nil, err
	}
	if err := CheckRequests(s.Traffic, s.Duration); err != nil {
		return nil, w.errf(trafficNode, "traffic", "%v", err)
	}
	if t, ok := s.Traffic.(tracePattern); ok {
		fns, err := mapTrace(t.Functions(), s.Functions)
		if err != nil {
			var at *yaml.Node = trafficNode
			if len(fnNodes) > 0 {
				at = fnNodes[0]
			}
			return nil, w.errf(at, "functions", "%v", err)
		}
		s.Functions = fns
	}
	if len(s.Functions) == 0 {
		f, err := DefaultFunction("fn")
		if err != nil {
			return nil, err
		}
		s.Functions = []Function{f}
	}
	for i := range s.Functions {
		if s.Functions[i].Command == nil && defaultCmd != nil {
			c := *defaultCmd
			s.Functions[i].Command = &c
		}
	}
	if len(s.Policies) == 0 {
		for _, name := range DefaultPolicies {
			s.Policies = append(s.Policies, Policy{Name: name, Label: name, Settings: map[string]string{}})
		}
	}
	if len(s.Backends) == 0 {
		s.Backends = []string{"sim"}
	}
	if err := w.checkRevisions(s, fnNodes); err != nil {
		return nil, err
	}
	if err := applyRollouts(s, s.Rollouts); err != nil {
		at := rolloutNode
		if at == nil {
			at = root
			if len(fnNodes) > 0 {
				at = fnNodes[0]
			}
		}
		return nil, w.errf(at, "rollouts", "%v", err)
	}
	return s, nil
}

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: ...") into a
// *badinput.Error with the line pulled out.
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		var n int
		if _, scanErr := fmt.Sscanf(rest, "%d:", &n); scanErr == nil {
			line = n
			msg = strings.TrimSpace(rest[strings.Index(rest, ":")+1:])
		}
	}
	return &badinput.Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

// rejectAliases refuses anchors and aliases: they buy nothing in a scenario
// and are the vector for exponential "billion laughs" documents.
func rejectAliases(w *walker, n *yaml.Node) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return w.errf(n, "", "YAML anchors and aliases are not supported in scenarios")
	}
	for _, c := range n.Content {
		if err := rejectAliases(w, c); err != nil {
			return err
		}
	}
	return nil
}

// DefaultFunction is a function with every default the schema gives one
// that says nothing: service time, start-up phases, readiness period and
// memory.
func DefaultFunction(name string) (Function, error) {
	f := Function{Name: name, MemoryMB: DefaultMemoryMB, Startup: Startup{ReadinessPeriod: DefaultReadinessPeriod}}
	var err error
	for _, d := range []struct {
		spec string
		dst  *dist.Dist
	}{
		{DefaultService, &f.Service},
		{DefaultSchedule, &f.Startup.Schedule},
		{DefaultContainerStart, &f.Startup.ContainerStart},
		{DefaultAppInit, &f.Startup.AppInit},
	} {
		if *d.dst, err = dist.Parse(d.spec); err != nil {
			return Function{}, fmt.Errorf("scenarios: default distribution %q: %w", d.spec, err)
		}
	}
	return f, nil
}

func (w *walker) distv(n *yaml.Node, key string) (dist.Dist, error) {
	s, err := w.str(n, key)
	if err != nil {
		return nil, err
	}
	d, err := dist.Parse(s)
	if err == nil {
		err = CheckWork(d)
	}
	if err != nil {
		return nil, w.errf(n, key, "%v", err)
	}
	return d, nil
}

func (w *walker) function(n *yaml.Node, path string) (Function, error) {
	f, err := DefaultFunction("")
	if err != nil {
		return Function{}, err
	}
	var revNode, splitNode *yaml.Node
	err = w.mapping(n, path, []field{
		{"name", func(k string, v *yaml.Node) (err error) { f.Name, err = w.str(v, k); return }},
		{"revisions", func(k string, v *yaml.Node) error { revNode = v; return nil }},
		{"split", func(k string, v *yaml.Node) error { splitNode = v; return nil }},
		{"containerConcurrency", func(k string, v *yaml.Node) (err error) {
			if f.ContainerConcurrency, err = w.intv(v, k, 0); err == nil {
				err = w.check(v, k, CheckContainerConcurrency(f.ContainerConcurrency))
			}
			return
		}},
		{"memoryMB", func(k string, v *yaml.Node) (err error) { f.MemoryMB, err = w.floatv(v, k, 1); return }},
		{"service", func(k string, v *yaml.Node) (err error) { f.Service, err = w.distv(v, k); return }},
		{"startup", func(k string, v *yaml.Node) error { return w.startup(v, k, &f.Startup) }},
		{"function", func(k string, v *yaml.Node) (err error) { f.Command, err = w.command(v, k); return }},
	})
	if err != nil {
		return Function{}, err
	}
	if f.Name == "" {
		return Function{}, w.errf(n, path+".name", "missing; every function needs a name")
	}
	// After the mapping, so that revisions inherit the function's keys
	// wherever they stand in the file.
	if err := w.revisions(&f, path, revNode, splitNode); err != nil {
		return Function{}, err
	}
	return f, nil
}

func (w *walker) startup(n *yaml.Node, path string, st *Startup) error {
	// "none" switches a phase off (a pre-pulled image, say), since an
	// absent key keeps the default.
	phase := func(dst *dist.Dist) func(string, *yaml.Node) error {
		return func(k string, v *yaml.Node) error {
			if v.Kind == yaml.ScalarNode && v.Value == "none" {
				*dst = nil
				return nil
			}
			d, err := w.distv(v, k)
			*dst = d
			return err
		}
	}
	return w.mapping(n, path, []field{
		{"schedule", phase(&st.Schedule)},
		{"imagePull", phase(&st.ImagePull)},
		{"containerStart", phase(&st.ContainerStart)},
		{"appInit", phase(&st.AppInit)},
		{"readinessPeriod", func(k string, v *yaml.Node) (err error) {
			if st.ReadinessPeriod, err = w.dur(v, k); err == nil {
				err = w.check(v, k, CheckReadinessPeriod(st.ReadinessPeriod))
			}
			return
		}},
	})
}

func (w *walker) policies(n *yaml.Node, path string) ([]Policy, error) {
	items, err := w.list(n, path)
	if err != nil {
		return nil, err
	}
	var out []Policy
	for i, item := range items {
		key := fmt.Sprintf("%s[%d]", path, i)
		p := Policy{Settings: map[string]string{}}
		var settings *yaml.Node
		// A bare name is shorthand for the policy with its defaults.
		if item.Kind == yaml.ScalarNode {
			if p.Name, err = w.str(item, key); err != nil {
				return nil, err
			}
		} else if err := w.mapping(item, key, []field{
			{"name", func(k string, v *yaml.Node) (err error) { p.Name, err = w.str(v, k); return }},
			{"label", func(k string, v *yaml.Node) (err error) { p.Label, err = w.str(v, k); return }},
			{"settings", func(k string, v *yaml.Node) (err error) { settings = v; p.Settings, err = w.stringMap(v, k); return }},
		}); err != nil {
			return nil, err
		}
		if p.Name == "" {
			return nil, w.errf(item, key+".name", "missing; want a policy name such as kpa")
		}
		if p.Label == "" {
			p.Label = p.Name
		}
		if err := checkPolicy(p); err != nil {
			// Point at the setting's own line when one alone is wrong.
			if at, k, err := badSetting(p.Name, settings); at != nil {
				return nil, w.errf(at, key+".settings."+k, "%v", err)
			}
			return nil, w.errf(item, key, "%v", err)
		}
		for _, q := range out {
			if q.Label == p.Label {
				return nil, w.errf(item, key+".label", "label %q used twice; give each run of a policy its own label", p.Label)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func (w *walker) backends(n *yaml.Node, path string) ([]string, error) {
	items, err := w.list(n, path)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, item := range items {
		key := fmt.Sprintf("%s[%d]", path, i)
		b, err := w.str(item, key)
		if err != nil {
			return nil, err
		}
		known := false
		for _, k := range KnownBackends {
			known = known || k == b
		}
		if !known {
			return nil, w.errf(item, key, "unknown backend %q (known: %s)", b, strings.Join(KnownBackends, ", "))
		}
		out = append(out, b)
	}
	return out, nil
}

func (w *walker) activator(n *yaml.Node, path string, a *Activator) error {
	return w.mapping(n, path, []field{
		{"queueDepth", func(k string, v *yaml.Node) (err error) {
			if a.QueueDepth, err = w.intv(v, k, 0); err == nil {
				err = w.check(v, k, CheckQueueDepth(a.QueueDepth))
			}
			return
		}},
		{"timeout", func(k string, v *yaml.Node) (err error) {
			if a.Timeout, err = w.dur(v, k); err == nil {
				err = w.check(v, k, CheckTimeout(a.Timeout))
			}
			return
		}},
	})
}

func (w *walker) slos(n *yaml.Node, path string) ([]results.SLO, error) {
	items, err := w.list(n, path)
	if err != nil {
		return nil, err
	}
	var out []results.SLO
	for i, item := range items {
		key := fmt.Sprintf("%s[%d]", path, i)
		if item.Kind == yaml.ScalarNode {
			slo, err := results.ParseSLO(item.Value)
			if err != nil {
				return nil, w.errf(item, key, "%v", err)
			}
			out = append(out, slo)
			continue
		}
		var slo results.SLO
		var haveMax bool
		if err := w.mapping(item, key, []field{
			{"metric", func(k string, v *yaml.Node) (err error) { slo.Metric, err = w.str(v, k); return }},
			{"max", func(k string, v *yaml.Node) (err error) {
				slo.Max, err = w.floatv(v, k, 0)
				haveMax = true
				return
			}},
		}); err != nil {
			return nil, err
		}
		if slo.Metric == "" || !haveMax {
			return nil, w.errf(item, key, "want both metric and max")
		}
		if !results.KnownMetric(slo.Metric) {
			return nil, w.errf(item, key+".metric", "unknown metric %q (known: %s)", slo.Metric, strings.Join(results.MetricNames(), ", "))
		}
		out = append(out, slo)
	}
	return out, nil
}

// traffic decodes the traffic section: either a pattern spec string, or a
// mapping with a pattern or a trace.
func (w *walker) traffic(n *yaml.Node, path string, s *Scenario) error {
	if n.Kind == yaml.ScalarNode {
		spec, err := w.str(n, path)
		if err != nil {
			return err
		}
		p, err := traffic.Parse(spec)
		if err != nil {
			return w.errf(n, path, "%v", err)
		}
		s.Traffic = p
		return nil
	}
	var patternNode, traceNode *yaml.Node
	if err := w.mapping(n, path, []field{
		{"pattern", func(k string, v *yaml.Node) error { patternNode = v; return nil }},
		{"trace", func(k string, v *yaml.Node) error { traceNode = v; return nil }},
	}); err != nil {
		return err
	}
	switch {
	case patternNode != nil && traceNode != nil:
		return w.errf(traceNode, path+".trace", "give either a pattern or a trace, not both")
	case patternNode != nil:
		return w.traffic(patternNode, path+".pattern", s)
	case traceNode != nil:
		return w.trace(traceNode, path+".trace", s)
	}
	return w.errf(n, path, "want a pattern or a trace")
}
