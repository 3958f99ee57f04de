package activator

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/scenarios"
)

// A route's deployable form is a ConfigMap in the activator's namespace,
// the way Knative keeps a Route as an object of its own beside the
// Revisions: the ConfigMap's name is the function's (requests for
// /NAMESPACE/NAME/ are split), the label RouteLabel marks it, and
// data[RouteKey] is the schedule:
//
//	revisions:            # the revisions' Services, in the split's order
//	  - name: api-v1
//	    initialScale: 5   # Ready once it has had 5 ready endpoints (default 1)
//	  - name: api-v2
//	split:
//	  - {at: 0s, percent: {api-v1: 100}}
//	  - {at: 3m, rollout: api-v2, duration: 5m}
//	seed: 21
//
// The schedule's time 0 is the annotation RouteStartAnnotation (RFC 3339),
// else the ConfigMap's creation.
const (
	RouteLabel           = "scalebench.dev/route"
	RouteStartAnnotation = "scalebench.dev/route-start"
	RouteKey             = "route.yaml"
)

// ParseRoute reads a route's schedule (data[RouteKey] of its ConfigMap).
// source names the text in errors (NAMESPACE/NAME's route.yaml); Name and
// Start are the ConfigMap's, not the text's, and stay unset.
func ParseRoute(source string, data []byte) (Route, error) {
	var r Route
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg, line := strings.TrimPrefix(err.Error(), "yaml: "), 0
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if n, after, ok := strings.Cut(rest, ": "); ok {
				if line, err = strconv.Atoi(n); err == nil {
					msg = after
				}
			}
		}
		return r, &badinput.Error{File: source, Line: line, Msg: "not YAML: " + strings.ReplaceAll(msg, "\n", " ")}
	}
	if len(doc.Content) == 0 {
		return r, &badinput.Error{File: source, Msg: "empty; want revisions: and split:"}
	}
	p := routeParser{source: source}
	root := doc.Content[0]
	var splitNode *yaml.Node
	err := p.mapping(root, "", map[string]func(*yaml.Node, string) error{
		"revisions": func(v *yaml.Node, key string) error { return p.revisions(v, key, &r) },
		"split":     func(v *yaml.Node, key string) error { splitNode = v; return nil },
		"seed": func(v *yaml.Node, key string) (err error) {
			if r.Seed, err = strconv.ParseUint(v.Value, 10, 64); err != nil || v.Kind != yaml.ScalarNode {
				return p.errf(v, key, "want a whole number, got %q", v.Value)
			}
			return nil
		},
	})
	if err != nil {
		return r, err
	}
	if len(r.Revisions) == 0 {
		return r, p.errf(root, "revisions", "want at least one revision's Service")
	}
	if splitNode != nil {
		if err := p.split(splitNode, "split", &r); err != nil {
			return r, err
		}
	}
	if len(r.Steps) == 0 && len(r.Revisions) > 1 {
		return r, p.errf(root, "split", "%d revisions want a split schedule", len(r.Revisions))
	}
	return r, nil
}

type routeParser struct{ source string }

func (p routeParser) errf(n *yaml.Node, key, format string, args ...any) error {
	return &badinput.Error{File: p.source, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// mapping walks a mapping's keys, refusing unknown and repeated ones.
func (p routeParser) mapping(n *yaml.Node, path string, fields map[string]func(*yaml.Node, string) error) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, strings.TrimPrefix(path, "."), "want a mapping")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := strings.TrimPrefix(path+"."+k.Value, ".")
		f := fields[k.Value]
		if f == nil {
			known := make([]string, 0, len(fields))
			for name := range fields {
				known = append(known, name)
			}
			sort.Strings(known)
			return p.errf(k, key, "unknown key (want %s)", strings.Join(known, ", "))
		}
		if seen[k.Value] {
			return p.errf(k, key, "given twice")
		}
		seen[k.Value] = true
		if err := f(v, key); err != nil {
			return err
		}
	}
	return nil
}

func (p routeParser) revisions(n *yaml.Node, key string, r *Route) error {
	if n.Kind != yaml.SequenceNode {
		return p.errf(n, key, "want a list of {name: SERVICE, initialScale: N}")
	}
	for i, item := range n.Content {
		path := fmt.Sprintf("%s[%d]", key, i)
		name, initial := "", 1
		err := p.mapping(item, path, map[string]func(*yaml.Node, string) error{
			"name": func(v *yaml.Node, k string) error {
				if v.Kind != yaml.ScalarNode || v.Value == "" {
					return p.errf(v, k, "want a Service's name")
				}
				name = v.Value
				return nil
			},
			"initialScale": func(v *yaml.Node, k string) (err error) {
				if initial, err = strconv.Atoi(v.Value); err != nil || initial < 0 || v.Kind != yaml.ScalarNode {
					return p.errf(v, k, "want a pod count, 0 or more, got %q", v.Value)
				}
				return nil
			},
		})
		if err != nil {
			return err
		}
		if name == "" {
			return p.errf(item, path+".name", "missing: want the revision's Service")
		}
		for _, other := range r.Revisions {
			if other == name {
				return p.errf(item, path+".name", "revision %s given twice", name)
			}
		}
		r.Revisions = append(r.Revisions, name)
		r.InitialScale = append(r.InitialScale, initial)
	}
	return nil
}

func (p routeParser) split(n *yaml.Node, key string, r *Route) error {
	if n.Kind != yaml.SequenceNode {
		return p.errf(n, key, "want a list of steps {at: DURATION, percent: {REVISION: N}} or {at: DURATION, rollout: REVISION, duration: D}")
	}
	index := map[string]int{}
	for i, name := range r.Revisions {
		index[name] = i
	}
	revision := func(v *yaml.Node, k string) (int, error) {
		i, ok := index[v.Value]
		if !ok || v.Kind != yaml.ScalarNode {
			return 0, p.errf(v, k, "no revision %q (revisions: %s)", v.Value, strings.Join(r.Revisions, ", "))
		}
		return i, nil
	}
	dur := func(v *yaml.Node, k string) (time.Duration, error) {
		d, err := time.ParseDuration(v.Value)
		if err != nil || d < 0 || v.Kind != yaml.ScalarNode {
			return 0, p.errf(v, k, "want a duration such as 30s or 5m, got %q", v.Value)
		}
		return d, nil
	}
	var last time.Duration
	for i, item := range n.Content {
		path := fmt.Sprintf("%s[%d]", key, i)
		st := scenarios.SplitStep{Rollout: -1}
		var percent, rollout, duration *yaml.Node
		atSet := false
		err := p.mapping(item, path, map[string]func(*yaml.Node, string) error{
			"at": func(v *yaml.Node, k string) (err error) {
				atSet = true
				st.At, err = dur(v, k)
				return
			},
			"percent":  func(v *yaml.Node, _ string) error { percent = v; return nil },
			"rollout":  func(v *yaml.Node, _ string) error { rollout = v; return nil },
			"duration": func(v *yaml.Node, _ string) error { duration = v; return nil },
		})
		if err != nil {
			return err
		}
		if !atSet {
			return p.errf(item, path+".at", "missing: want the step's time from the route's start")
		}
		if st.At < last {
			return p.errf(item, path+".at", "%v is before the previous step's %v; want steps in time order", st.At, last)
		}
		last = st.At
		switch {
		case percent != nil && rollout != nil:
			return p.errf(rollout, path+".rollout", "give either percent or rollout, not both")
		case rollout != nil:
			if st.Rollout, err = revision(rollout, path+".rollout"); err != nil {
				return err
			}
			if duration != nil {
				if st.RolloutDuration, err = dur(duration, path+".duration"); err != nil {
					return err
				}
			}
		case percent != nil:
			if duration != nil {
				return p.errf(duration, path+".duration", "a duration belongs to a rollout step; a percent step moves traffic at once")
			}
			if percent.Kind != yaml.MappingNode {
				return p.errf(percent, path+".percent", "want a mapping of revision: percent")
			}
			st.Percent = make([]int, len(r.Revisions))
			seen := map[int]bool{}
			sum := 0
			for j := 0; j+1 < len(percent.Content); j += 2 {
				k, v := percent.Content[j], percent.Content[j+1]
				kp := path + ".percent." + k.Value
				rev, err := revision(k, kp)
				if err != nil {
					return err
				}
				if seen[rev] {
					return p.errf(k, kp, "revision given twice")
				}
				seen[rev] = true
				n, err := strconv.Atoi(v.Value)
				if err != nil || n < 0 || n > 100 || v.Kind != yaml.ScalarNode {
					return p.errf(v, kp, "want a percentage from 0 to 100, got %q", v.Value)
				}
				st.Percent[rev] = n
				sum += n
			}
			if sum != 100 {
				return p.errf(percent, path+".percent", "percentages sum to %d, want 100", sum)
			}
		default:
			return p.errf(item, path, "want percent (revision: share) or rollout (a revision's Service)")
		}
		r.Steps = append(r.Steps, st)
	}
	return nil
}

// MarshalRoute is r's schedule as ParseRoute reads it (Name and Start are
// the ConfigMap's own).
func MarshalRoute(r Route) ([]byte, error) {
	if _, err := newRouter(r); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("revisions:\n")
	for i, name := range r.Revisions {
		fmt.Fprintf(&b, "  - name: %s\n", name)
		if r.InitialScale != nil && r.InitialScale[i] != 1 {
			fmt.Fprintf(&b, "    initialScale: %d\n", r.InitialScale[i])
		}
	}
	if len(r.Steps) > 0 {
		b.WriteString("split:\n")
	}
	for _, st := range r.Steps {
		fmt.Fprintf(&b, "  - at: %s\n", st.At)
		if st.Rollout >= 0 {
			fmt.Fprintf(&b, "    rollout: %s\n", r.Revisions[st.Rollout])
			if st.RolloutDuration > 0 {
				fmt.Fprintf(&b, "    duration: %s\n", st.RolloutDuration)
			}
			continue
		}
		b.WriteString("    percent: {")
		for i, p := range st.Percent {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s: %d", r.Revisions[i], p)
		}
		b.WriteString("}\n")
	}
	fmt.Fprintf(&b, "seed: %d\n", r.Seed)
	return []byte(b.String()), nil
}

// RouteConfigMap is r as the ConfigMap the activator watches, in
// namespace ns. A zero r.Start leaves the start to the ConfigMap's
// creation.
func RouteConfigMap(r Route, ns string) (*corev1.ConfigMap, error) {
	data, err := MarshalRoute(r)
	if err != nil {
		return nil, err
	}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: ns, Labels: map[string]string{RouteLabel: "true"}},
		Data:       map[string]string{RouteKey: string(data)},
	}
	if !r.Start.IsZero() {
		cm.Annotations = map[string]string{RouteStartAnnotation: r.Start.UTC().Format(time.RFC3339Nano)}
	}
	return cm, nil
}

// routeFromConfigMap is the route a ConfigMap asks for.
func routeFromConfigMap(cm *corev1.ConfigMap) (Route, error) {
	source := "configmap " + cm.Namespace + "/" + cm.Name + " " + RouteKey
	text, ok := cm.Data[RouteKey]
	if !ok {
		return Route{}, &badinput.Error{File: source, Msg: "missing: a route ConfigMap holds its schedule in data." + RouteKey}
	}
	r, err := ParseRoute(source, []byte(text))
	if err != nil {
		return r, err
	}
	r.Name = cm.Name
	r.Start = cm.CreationTimestamp.Time
	if v, ok := cm.Annotations[RouteStartAnnotation]; ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return r, &badinput.Error{File: "configmap " + cm.Namespace + "/" + cm.Name, Key: "annotation " + RouteStartAnnotation,
				Msg: fmt.Sprintf("want an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", v)}
		}
		r.Start = t
	}
	if _, err := newRouter(r); err != nil {
		return r, &badinput.Error{File: source, Err: err}
	}
	return r, nil
}
