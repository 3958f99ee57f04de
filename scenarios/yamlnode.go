package scenarios

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/scalebench/scalebench/badinput"
)

// walker decodes a yaml.v3 node tree by hand so that every error can name
// the file, line and key; struct decoding would lose the line of a bad value.
type walker struct {
	file string
}

func (w *walker) errf(n *yaml.Node, key, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	// Messages from other packages may span lines; a user's error is one.
	msg := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	return &badinput.Error{File: w.file, Line: line, Key: key, Msg: msg}
}

// check reports a limit check's failure at the node that set the value.
func (w *walker) check(n *yaml.Node, key string, err error) error {
	if err == nil {
		return nil
	}
	return w.errf(n, key, "%v", err)
}

// field is one allowed key of a mapping and what to do with its value.
type field struct {
	name string
	set  func(key string, v *yaml.Node) error
}

// mapping checks that n is a mapping whose keys are all known and calls each
// key's setter in file order. Duplicate keys are errors because YAML
// silently keeping the last one hides typos in long files.
func (w *walker) mapping(n *yaml.Node, path string, fields []field) error {
	if n.Kind != yaml.MappingNode {
		return w.errf(n, path, "want a mapping of keys, got %s", kindName(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := join(path, k.Value)
		var f *field
		for j := range fields {
			if fields[j].name == k.Value {
				f = &fields[j]
				break
			}
		}
		if f == nil {
			names := make([]string, len(fields))
			for j, f := range fields {
				names[j] = f.name
			}
			sort.Strings(names)
			return w.errf(k, key, "unknown key (known: %s)", strings.Join(names, ", "))
		}
		if seen[k.Value] {
			return w.errf(k, key, "key given twice")
		}
		seen[k.Value] = true
		if err := f.set(key, v); err != nil {
			return err
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "an empty document"
}

func (w *walker) scalar(n *yaml.Node, key, want string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", w.errf(n, key, "want %s, got %s", want, kindName(n))
	}
	return n.Value, nil
}

func (w *walker) str(n *yaml.Node, key string) (string, error) {
	s, err := w.scalar(n, key, "a string")
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", w.errf(n, key, "want a non-empty string")
	}
	return s, nil
}

func (w *walker) intv(n *yaml.Node, key string, min int) (int, error) {
	s, err := w.scalar(n, key, "an integer")
	if err != nil {
		return 0, err
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return 0, w.errf(n, key, "want an integer, got %q", s)
	}
	if i < min {
		return 0, w.errf(n, key, "want an integer >= %d, got %d", min, i)
	}
	return i, nil
}

func (w *walker) int64v(n *yaml.Node, key string) (int64, error) {
	s, err := w.scalar(n, key, "an integer")
	if err != nil {
		return 0, err
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, w.errf(n, key, "want an integer, got %q", s)
	}
	return i, nil
}

func (w *walker) floatv(n *yaml.Node, key string, min float64) (float64, error) {
	s, err := w.scalar(n, key, "a number")
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f {
		return 0, w.errf(n, key, "want a number, got %q", s)
	}
	if f < min {
		return 0, w.errf(n, key, "want a number >= %g, got %g", min, f)
	}
	return f, nil
}

// dur accepts Go durations ("90s", "1m30s"); a bare number is an error
// because "seconds or milliseconds?" is the classic YAML trap.
func (w *walker) dur(n *yaml.Node, key string) (time.Duration, error) {
	s, err := w.scalar(n, key, "a duration like 30s")
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, w.errf(n, key, "want a duration like 500ms, 30s or 5m, got %q", s)
	}
	if d < 0 {
		return 0, w.errf(n, key, "want a non-negative duration, got %s", d)
	}
	return d, nil
}

func (w *walker) list(n *yaml.Node, key string) ([]*yaml.Node, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, w.errf(n, key, "want a list, got %s", kindName(n))
	}
	return n.Content, nil
}

// stringMap decodes a flat mapping of scalars, for policy settings and trace
// options whose keys another package validates.
func (w *walker) stringMap(n *yaml.Node, key string) (map[string]string, error) {
	if n.Kind != yaml.MappingNode {
		return nil, w.errf(n, key, "want a mapping of keys, got %s", kindName(n))
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := out[k.Value]; dup {
			return nil, w.errf(k, join(key, k.Value), "key given twice")
		}
		s, err := w.scalar(v, join(key, k.Value), "a value")
		if err != nil {
			return nil, err
		}
		out[k.Value] = s
	}
	return out, nil
}
