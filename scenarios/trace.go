package scenarios

import (
	"path/filepath"
	"sort"
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
	spec := format + ":" + strings.Join(args, ",")
	p, err := traffic.Parse(spec)
	if err != nil {
		return w.errf(n, path, "%v", err)
	}
	if p == nil {
		return w.errf(n, path, "trace %s gave no traffic", format)
	}
	s.Traffic = p
	return nil
}
