package scenarios

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/scalebench/scalebench/traffic"
)

// trace decodes a trace section into the traffic spec traffic.Parse takes,
// resolving the trace's path against the scenario file so a scenario runs
// the same from any working directory.
func (w *walker) trace(n *yaml.Node, path string, s *Scenario) error {
	var format, file string
	var fileNode *yaml.Node
	opts := map[string]string{}
	if err := w.mapping(n, path, []field{
		{"format", func(k string, v *yaml.Node) (err error) { format, err = w.str(v, k); return }},
		{"path", func(k string, v *yaml.Node) (err error) {
			fileNode = v
			file, err = w.str(v, k)
			return
		}},
		{"options", func(k string, v *yaml.Node) (err error) { opts, err = w.stringMap(v, k); return }},
	}); err != nil {
		return err
	}
	if format == "" {
		return w.errf(n, path+".format", "missing; want azure2019, azure2021 or sparse")
	}
	var args []string
	if file != "" {
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(s.File), file)
		}
		if strings.ContainsAny(file, ",=") {
			return w.errf(fileNode, path+".path", "a trace path may not contain ',' or '='")
		}
		args = append(args, "path="+file)
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "path" || strings.ContainsAny(k+opts[k], ",=") {
			return w.errf(n, path+".options."+k, "option keys and values may not be path or contain ',' or '='")
		}
		args = append(args, k+"="+opts[k])
	}
	var p traffic.Pattern
	var err error
	if format == "azure2019" {
		p, err = loadAzure2019(file, opts)
	} else {
		p, err = traffic.Parse(format + ":" + strings.Join(args, ","))
	}
	if err != nil {
		return w.errf(n, path, "%v", err)
	}
	if p == nil {
		return w.errf(n, path, "trace %s gave no traffic", format)
	}
	s.Traffic = p
	return nil
}

// tracePattern is traffic that brings its own functions (traffic.Trace).
type tracePattern interface {
	Functions() []traffic.TraceFunction
}

// mapTrace builds one Function per trace function. A single scenario
// function (or none, meaning the defaults) is a template for all of them;
// otherwise the lists must match one to one. The trace's measured service
// times and memory replace the template's defaults because they are data,
// where the template's are guesses.
func mapTrace(tfs []traffic.TraceFunction, given []Function) ([]Function, error) {
	if len(tfs) == 0 {
		return nil, fmt.Errorf("the trace has no functions")
	}
	if len(given) > 1 && len(given) != len(tfs) {
		return nil, fmt.Errorf("the trace has %d functions but the scenario lists %d; list one (a template for all) or one per trace function", len(tfs), len(given))
	}
	tmpl, err := DefaultFunction("fn")
	if err != nil {
		return nil, err
	}
	if len(given) == 1 {
		tmpl = given[0]
	}
	out := make([]Function, len(tfs))
	for i, tf := range tfs {
		f := tmpl
		if len(given) == len(tfs) && len(given) > 1 {
			f = given[i]
		} else {
			f.Name = fmt.Sprintf("%s-%03d-%s", tmpl.Name, i, shortName(tf.Name))
		}
		if tf.Duration != nil {
			f.Service = tf.Duration
		}
		if tf.MemoryMB > 0 {
			f.MemoryMB = tf.MemoryMB
		}
		// Each function gets revisions of its own (a template's are
		// shared by all): the trace's measurements replace what a
		// revision inherited from the function, not what it set itself
		// (a new version that serves faster stays faster).
		f.Revisions = append([]Revision(nil), f.Revisions...)
		for j := range f.Revisions {
			r := &f.Revisions[j]
			r.Settings = maps.Clone(r.Settings)
			if tf.Duration != nil && !r.ownService {
				r.Service = tf.Duration
			}
			if tf.MemoryMB > 0 && !r.ownMemory {
				r.MemoryMB = tf.MemoryMB
			}
		}
		out[i] = f
	}
	return out, nil
}

// shortName trims a 64-hex-digit trace hash to something a table can show.
func shortName(n string) string {
	if len(n) > 8 {
		return n[:8]
	}
	return n
}

// loadAzure2019 loads a 2019 trace directory (invocations.csv and, when
// present, durations.csv and memory.csv, as the vHive loader lays them out).
func loadAzure2019(dir string, opts map[string]string) (traffic.Pattern, error) {
	if dir == "" {
		return nil, fmt.Errorf("azure2019: want path, the trace directory")
	}
	var o traffic.Azure2019Options
	for k, v := range opts {
		var err error
		switch k {
		case "functions":
			o.Functions, err = strconv.Atoi(v)
		case "firstMinute":
			o.FirstMinute, err = strconv.Atoi(v)
		case "minutes":
			o.Minutes, err = strconv.Atoi(v)
		case "spread":
			o.Spread, err = traffic.ParseSpread(v)
		case "compression":
			o.Compression, err = strconv.ParseFloat(v, 64)
		case "scale":
			o.Scale, err = strconv.ParseFloat(v, 64)
		case "apps":
			o.Apps = strings.Split(v, "/")
		case "triggers":
			o.Triggers = strings.Split(v, "/")
		case "sample":
			o.Sample, err = strconv.Atoi(v)
		case "sampleSeed":
			o.SampleSeed, err = strconv.ParseInt(v, 10, 64)
		default:
			return nil, fmt.Errorf("azure2019: unknown option %q (known: apps, compression, firstMinute, functions, minutes, sample, sampleSeed, scale, spread, triggers)", k)
		}
		if err != nil {
			return nil, fmt.Errorf("azure2019: option %s: bad value %q", k, v)
		}
	}
	optional := func(name string) string {
		f := filepath.Join(dir, name)
		if _, err := os.Stat(f); err != nil {
			return ""
		}
		return f
	}
	inv := filepath.Join(dir, "invocations.csv")
	if _, err := os.Stat(inv); err != nil {
		return nil, fmt.Errorf("azure2019: %s: no invocations.csv", dir)
	}
	return traffic.LoadAzure2019(inv, optional("durations.csv"), optional("memory.csv"), o)
}
