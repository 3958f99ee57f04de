package scenarios

import (
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/scalebench/scalebench/traffic"
)

// Revision is one immutable version of a function, as Knative makes one on
// every change to a Service. It carries its own workload and pod model
// (Function: a new version may start slower or serve faster) and its own
// policy settings; the route's Split decides which share of the function's
// traffic it gets.
type Revision struct {
	// Function is the revision's workload; Name is the revision's name.
	Function
	// Settings are laid over the policy's settings for this revision only
	// (initial-scale, min-scale, target ...).
	Settings map[string]string
	// DeployAt is when the revision is created. A revision created at 0
	// starts deployed (its first decision's pods ready, like a function
	// without revisions); a later one starts its initial-scale pods then,
	// through the normal start-up.
	DeployAt time.Duration
	// Tag names a URL that addresses this revision directly, whatever the
	// split; TagTraffic (nil: none) is the traffic sent to it.
	Tag        string
	TagTraffic traffic.Pattern

	// ownService and ownMemory are set when the revision gives its own
	// service time or memory, which a trace's measured ones do not
	// replace (mapTrace).
	ownService, ownMemory bool
}

// SplitStep is one change to the route's traffic split, applied at At.
// A step names either Percent (explicit revision targets, Knative's
// blue-green and canary) or Rollout (the Configuration's latest revision
// takes the whole route, over RolloutDuration).
type SplitStep struct {
	At time.Duration
	// Percent is each revision's share, indexed like Function.Revisions;
	// nil for a rollout step.
	Percent []int
	// Rollout is the revision index that becomes the latest; -1 for a
	// percent step.
	Rollout int
	// RolloutDuration is Knative's rollout-duration: 0 moves all traffic
	// at once, otherwise 1% first and the rest in equal steps.
	RolloutDuration time.Duration
}

// Rollout is one way of making a scenario's rollout steps, compared side
// by side as if it were a policy: same load, same revisions, a different
// rollout-duration or initial scale for the revision rolled out to.
type Rollout struct {
	Name string
	// Duration replaces every rollout step's RolloutDuration.
	Duration time.Duration
	// InitialScale, when > 0, is the new revision's initial-scale.
	// MatchInitialScale pre-scales it to the pods the function's other
	// revisions have when it is created instead. MinScale and
	// MatchMinScale do the same for min-scale, which, unlike initial-scale,
	// holds the pods once traffic arrives.
	InitialScale      int
	MatchInitialScale bool
	MinScale          int
	MatchMinScale     bool
	// Steps, when set, make the rollout a manual canary instead: the new
	// revision's share at each offset from the rollout step (the last one
	// 100), the rest staying with the revision that had the most traffic.
	Steps []CanaryStep
	// Settings are laid over the new revision's policy settings, for a
	// rollout that needs more than an initial scale (scale-down-delay to
	// keep pre-scaled pods until the revision has a window of its own
	// traffic, say).
	Settings map[string]string
}

// CanaryStep is one step of a manual canary: the new revision's Percent
// from After the rollout step on.
type CanaryStep struct {
	After   time.Duration
	Percent int
}

// revision decodes one revision: the function's keys, each defaulting to
// the function's own value, and the revision's own.
func (w *walker) revision(n *yaml.Node, path string, base Function) (Revision, error) {
	r := Revision{Function: base, Settings: map[string]string{}}
	r.Name = ""
	var deploySet bool
	var tagTrafficNode *yaml.Node
	err := w.mapping(n, path, []field{
		{"name", func(k string, v *yaml.Node) (err error) { r.Name, err = w.str(v, k); return }},
		{"containerConcurrency", func(k string, v *yaml.Node) (err error) {
			r.ContainerConcurrency, err = w.intv(v, k, 0)
			return
		}},
		{"memoryMB", func(k string, v *yaml.Node) (err error) {
			r.ownMemory = true
			r.MemoryMB, err = w.floatv(v, k, 1)
			return
		}},
		{"service", func(k string, v *yaml.Node) (err error) {
			r.ownService = true
			r.Service, err = w.distv(v, k)
			return
		}},
		{"startup", func(k string, v *yaml.Node) error { return w.startup(v, k, &r.Startup) }},
		{"settings", func(k string, v *yaml.Node) (err error) { r.Settings, err = w.stringMap(v, k); return }},
		{"deployAt", func(k string, v *yaml.Node) (err error) {
			deploySet = true
			r.DeployAt, err = w.dur(v, k)
			return
		}},
		{"tag", func(k string, v *yaml.Node) (err error) { r.Tag, err = w.str(v, k); return }},
		{"tagTraffic", func(k string, v *yaml.Node) error { tagTrafficNode = v; return nil }},
	})
	if err != nil {
		return Revision{}, err
	}
	if r.Name == "" {
		return Revision{}, w.errf(n, path+".name", "missing; every revision needs a name")
	}
	if !deploySet {
		r.DeployAt = -1 // filled in from the split
	}
	if tagTrafficNode != nil {
		if r.Tag == "" {
			return Revision{}, w.errf(tagTrafficNode, path+".tagTraffic", "needs a tag: traffic to a tag goes to the tag's URL")
		}
		spec, err := w.str(tagTrafficNode, path+".tagTraffic")
		if err != nil {
			return Revision{}, err
		}
		if r.TagTraffic, err = traffic.Parse(spec); err != nil {
			return Revision{}, w.errf(tagTrafficNode, path+".tagTraffic", "%v", err)
		}
	}
	return r, nil
}

// revisions decodes a function's revisions and its split, and checks them
// against each other: every revision named exists, every step sums to 100,
// steps come in time order.
func (w *walker) revisions(f *Function, path string, revNode, splitNode *yaml.Node) error {
	if revNode == nil {
		if splitNode != nil {
			return w.errf(splitNode, path+".split", "a split needs revisions to split between")
		}
		return nil
	}
	items, err := w.list(revNode, path+".revisions")
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return w.errf(revNode, path+".revisions", "want at least one revision")
	}
	base := *f
	base.Revisions, base.Split = nil, nil
	for i, item := range items {
		key := fmt.Sprintf("%s.revisions[%d]", path, i)
		r, err := w.revision(item, key, base)
		if err != nil {
			return err
		}
		for _, q := range f.Revisions {
			if q.Name == r.Name {
				return w.errf(item, key+".name", "revision %q given twice", r.Name)
			}
			if r.Tag != "" && q.Tag == r.Tag {
				return w.errf(item, key+".tag", "tag %q given to two revisions", r.Tag)
			}
		}
		f.Revisions = append(f.Revisions, r)
	}
	index := map[string]int{}
	for i, r := range f.Revisions {
		index[r.Name] = i
	}
	var stepNodes, atNodes []*yaml.Node
	if splitNode != nil {
		if stepNodes, err = w.list(splitNode, path+".split"); err != nil {
			return err
		}
	}
	for i, sn := range stepNodes {
		key := fmt.Sprintf("%s.split[%d]", path, i)
		st, err := w.splitStep(sn, key, index, len(f.Revisions))
		if err != nil {
			return err
		}
		if n := len(f.Split); n > 0 && st.At <= f.Split[n-1].At {
			return w.errf(sn, key+".at", "steps must come in time order; %s is not after %s", st.At, f.Split[n-1].At)
		}
		f.Split = append(f.Split, st)
		atNodes = append(atNodes, sn)
	}
	// Before the first step (or with none) the first revision has the
	// whole route, as a Service's first revision does.
	if len(f.Split) == 0 || f.Split[0].At > 0 {
		first := SplitStep{Percent: make([]int, len(f.Revisions)), Rollout: -1}
		first.Percent[0] = 100
		f.Split = append([]SplitStep{first}, f.Split...)
		atNodes = append([]*yaml.Node{revNode}, atNodes...)
	}
	// A revision is created when a step first gives it traffic, unless
	// the scenario says when.
	for i := range f.Revisions {
		r := &f.Revisions[i]
		if r.DeployAt >= 0 {
			continue
		}
		r.DeployAt = 0
		for _, st := range f.Split {
			if st.Rollout == i || st.Rollout < 0 && st.Percent[i] > 0 {
				r.DeployAt = st.At
				break
			}
		}
	}
	for i, st := range f.Split {
		for j := range f.Revisions {
			if (st.Rollout == j || st.Rollout < 0 && st.Percent[j] > 0) && f.Revisions[j].DeployAt > st.At {
				return w.errf(atNodes[i], path+".split", "step at %s sends traffic to revision %q before it is deployed at %s", st.At, f.Revisions[j].Name, f.Revisions[j].DeployAt)
			}
		}
	}
	return nil
}

func (w *walker) splitStep(n *yaml.Node, path string, index map[string]int, nRev int) (SplitStep, error) {
	st := SplitStep{Rollout: -1}
	var percentNode, rolloutNode, durNode *yaml.Node
	err := w.mapping(n, path, []field{
		{"at", func(k string, v *yaml.Node) (err error) { st.At, err = w.dur(v, k); return }},
		{"percent", func(k string, v *yaml.Node) error { percentNode = v; return nil }},
		{"rollout", func(k string, v *yaml.Node) error { rolloutNode = v; return nil }},
		{"duration", func(k string, v *yaml.Node) (err error) {
			durNode = v
			st.RolloutDuration, err = w.dur(v, k)
			return
		}},
	})
	if err != nil {
		return st, err
	}
	revisionNamed := func(v *yaml.Node, key string) (int, error) {
		name, err := w.str(v, key)
		if err != nil {
			return 0, err
		}
		i, ok := index[name]
		if !ok {
			names := make([]string, 0, len(index))
			for n := range index {
				names = append(names, n)
			}
			sort.Strings(names)
			return 0, w.errf(v, key, "no revision %q (revisions: %s)", name, strings.Join(names, ", "))
		}
		return i, nil
	}
	switch {
	case percentNode != nil && rolloutNode != nil:
		return st, w.errf(rolloutNode, path+".rollout", "give either percent or rollout, not both")
	case rolloutNode != nil:
		if st.Rollout, err = revisionNamed(rolloutNode, path+".rollout"); err != nil {
			return st, err
		}
	case percentNode != nil:
		if durNode != nil {
			return st, w.errf(durNode, path+".duration", "a duration belongs to a rollout step; a percent step moves traffic at once")
		}
		if percentNode.Kind != yaml.MappingNode {
			return st, w.errf(percentNode, path+".percent", "want a mapping of revision: percent, got %s", kindName(percentNode))
		}
		st.Percent = make([]int, nRev)
		seen := map[int]bool{}
		sum := 0
		for i := 0; i+1 < len(percentNode.Content); i += 2 {
			k, v := percentNode.Content[i], percentNode.Content[i+1]
			key := join(path+".percent", k.Value)
			j, err := revisionNamed(k, key)
			if err != nil {
				return st, err
			}
			if seen[j] {
				return st, w.errf(k, key, "revision given twice")
			}
			seen[j] = true
			p, err := w.intv(v, key, 0)
			if err != nil {
				return st, err
			}
			if p > 100 {
				return st, w.errf(v, key, "want a percentage from 0 to 100, got %d", p)
			}
			st.Percent[j] = p
			sum += p
		}
		if sum != 100 {
			return st, w.errf(percentNode, path+".percent", "percentages sum to %d, want 100", sum)
		}
	default:
		return st, w.errf(n, path, "want percent (revision: share) or rollout (a revision's name)")
	}
	return st, nil
}

// rollouts decodes the scenario's rollout variants.
func (w *walker) rollouts(n *yaml.Node, path string) ([]Rollout, error) {
	items, err := w.list(n, path)
	if err != nil {
		return nil, err
	}
	var out []Rollout
	for i, item := range items {
		key := fmt.Sprintf("%s[%d]", path, i)
		r := Rollout{Settings: map[string]string{}}
		if err := w.mapping(item, key, []field{
			{"name", func(k string, v *yaml.Node) (err error) { r.Name, err = w.str(v, k); return }},
			{"settings", func(k string, v *yaml.Node) (err error) { r.Settings, err = w.stringMap(v, k); return }},
			{"duration", func(k string, v *yaml.Node) (err error) { r.Duration, err = w.dur(v, k); return }},
			{"initialScale", func(k string, v *yaml.Node) (err error) {
				r.InitialScale, r.MatchInitialScale, err = w.podsOrMatch(v, k)
				return
			}},
			{"minScale", func(k string, v *yaml.Node) (err error) {
				r.MinScale, r.MatchMinScale, err = w.podsOrMatch(v, k)
				return
			}},
			{"steps", func(k string, v *yaml.Node) (err error) { r.Steps, err = w.canarySteps(v, k); return }},
		}); err != nil {
			return nil, err
		}
		if r.Name == "" {
			return nil, w.errf(item, key+".name", "missing; every rollout needs a name")
		}
		if strings.ContainsAny(r.Name, "/ ") {
			return nil, w.errf(item, key+".name", "want a name without '/' or spaces, got %q", r.Name)
		}
		for _, q := range out {
			if q.Name == r.Name {
				return nil, w.errf(item, key+".name", "rollout %q given twice", r.Name)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// checkRevisions builds every revision's policy under every policy of the
// scenario, so that a bad per-revision setting is reported at load time.
func (w *walker) checkRevisions(s *Scenario, fnNodes []*yaml.Node) error {
	for i, f := range s.Functions {
		for j, r := range f.Revisions {
			for _, p := range s.Policies {
				set := maps.Clone(p.Settings)
				maps.Copy(set, r.Settings)
				if err := checkPolicy(Policy{Name: p.Name, Settings: set}); err != nil {
					var at *yaml.Node
					if i < len(fnNodes) {
						at = fnNodes[i]
					}
					return w.errf(at, fmt.Sprintf("functions[%d].revisions[%d].settings", i, j), "under policy %s: %v", p.Label, err)
				}
			}
		}
	}
	return nil
}

// canarySteps decodes a manual canary: offsets in order, shares rising to
// 100.
func (w *walker) canarySteps(n *yaml.Node, path string) ([]CanaryStep, error) {
	items, err := w.list(n, path)
	if err != nil {
		return nil, err
	}
	var out []CanaryStep
	for i, item := range items {
		key := fmt.Sprintf("%s[%d]", path, i)
		var st CanaryStep
		havePercent := false
		if err := w.mapping(item, key, []field{
			{"after", func(k string, v *yaml.Node) (err error) { st.After, err = w.dur(v, k); return }},
			{"percent", func(k string, v *yaml.Node) (err error) {
				havePercent = true
				st.Percent, err = w.intv(v, k, 1)
				return
			}},
		}); err != nil {
			return nil, err
		}
		if !havePercent || st.Percent > 100 {
			return nil, w.errf(item, key+".percent", "want the new revision's share, 1 to 100")
		}
		if len(out) > 0 && (st.After <= out[len(out)-1].After || st.Percent <= out[len(out)-1].Percent) {
			return nil, w.errf(item, key, "want each step later and with a larger share than the one before")
		}
		out = append(out, st)
	}
	if len(out) == 0 || out[len(out)-1].Percent != 100 {
		return nil, w.errf(n, path, "want the last step at 100 percent, so the rollout completes")
	}
	return out, nil
}

// podsOrMatch reads a pod count or "match" (the other revisions' pods).
func (w *walker) podsOrMatch(v *yaml.Node, k string) (int, bool, error) {
	if v.Kind == yaml.ScalarNode && v.Value == "match" {
		return 0, true, nil
	}
	s, err := w.scalar(v, k, "a pod count or match")
	if err != nil {
		return 0, false, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, false, w.errf(v, k, "want a pod count >= 1 or match (the other revisions' pods), got %q", s)
	}
	return n, false, nil
}

// applyRollouts expands the policies by the rollout variants: knative
// under instant, gradual and pre-scaled rollouts become three runs
// labelled knative/instant and so on, compared like any other policies.
func applyRollouts(s *Scenario, rollouts []Rollout) error {
	hasRollout := false
	for _, f := range s.Functions {
		for _, st := range f.Split {
			hasRollout = hasRollout || st.Rollout >= 0
		}
	}
	if len(rollouts) == 0 {
		return nil
	}
	if !hasRollout {
		return fmt.Errorf("rollouts compare ways of making a rollout step, and no function's split has one (add a step with rollout: REVISION)")
	}
	for _, r := range rollouts {
		set := maps.Clone(r.Settings)
		if r.InitialScale > 0 || r.MatchInitialScale {
			set["initial-scale"] = "2"
		}
		if r.MinScale > 0 || r.MatchMinScale {
			set["min-scale"] = "2"
		}
		for _, p := range s.Policies {
			all := maps.Clone(p.Settings)
			maps.Copy(all, set)
			if err := checkPolicy(Policy{Name: p.Name, Settings: all}); err != nil {
				return fmt.Errorf("rollout %s under policy %s: %v", r.Name, p.Label, err)
			}
		}
	}
	var out []Policy
	for _, p := range s.Policies {
		for _, r := range rollouts {
			q := p
			q.Label = p.Label + "/" + r.Name
			q.Rollout = &r
			out = append(out, q)
		}
	}
	s.Policies = out
	return nil
}

// withRevisions lists every function's workload, and each revision's as
// FUNCTION/REVISION, so that limits apply to what a revision changes too.
func withRevisions(fns []Function) []Function {
	var out []Function
	for _, f := range fns {
		out = append(out, f)
		for _, r := range f.Revisions {
			rf := r.Function
			rf.Name = f.Name + "/" + r.Name
			out = append(out, rf)
		}
	}
	return out
}

// DescribeRevisions says in words what a function's revisions and split
// are, for reports: "api: revisions v1, v2 (tag canary, created at 3m);
// at 3m roll out to v2".
func DescribeRevisions(f Function) string {
	var revs []string
	for _, r := range f.Revisions {
		var notes []string
		if r.Tag != "" {
			notes = append(notes, "tag "+r.Tag)
		}
		if r.DeployAt > 0 {
			notes = append(notes, "created at "+short(r.DeployAt))
		}
		if len(notes) > 0 {
			revs = append(revs, r.Name+" ("+strings.Join(notes, ", ")+")")
		} else {
			revs = append(revs, r.Name)
		}
	}
	var steps []string
	for _, st := range f.Split[1:] {
		switch {
		case st.Rollout >= 0 && st.RolloutDuration > 0:
			steps = append(steps, fmt.Sprintf("at %s roll out to %s over %s", short(st.At), f.Revisions[st.Rollout].Name, short(st.RolloutDuration)))
		case st.Rollout >= 0:
			steps = append(steps, fmt.Sprintf("at %s roll out to %s", short(st.At), f.Revisions[st.Rollout].Name))
		default:
			var p []string
			for i, v := range st.Percent {
				if v > 0 {
					p = append(p, fmt.Sprintf("%s %d%%", f.Revisions[i].Name, v))
				}
			}
			steps = append(steps, fmt.Sprintf("at %s %s", short(st.At), strings.Join(p, ", ")))
		}
	}
	out := f.Name + ": revisions " + strings.Join(revs, ", ")
	if len(steps) > 0 {
		out += "; " + strings.Join(steps, "; ")
	}
	return out
}

// short drops a duration's zero tail: 5m, not 5m0s.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
