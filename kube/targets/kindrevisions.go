package targets

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/scalebench/scalebench/kube/activator"
	"github.com/scalebench/scalebench/route"
	"github.com/scalebench/scalebench/scenarios"
)

// Stage is what a kind run applies to one target at At from the start of
// that target's traffic: a revision created, a split changed. A function
// with revisions is a schedule, and a manifest is one moment of it, so
// kind-config/bench.sh applies the stages in order at their times
// (stages.tsv).
type Stage struct {
	At     time.Duration
	Target string
	// What says what the stage does, for the notes and bench.sh's log.
	What string
	// Revision, when set, is the Knative Revision the stage creates. A
	// Service makes one Revision per generation, so a stage at 0 that
	// another stage at 0 follows must have its Revision before the next
	// is applied (bench.sh waits for it to be Ready).
	Revision string
	Objects  []Object
}

// RefusedMessage is why a target without a traffic split does not run a
// function with revisions.
func RefusedMessage(target, function string) string {
	what := map[string]string{
		HPA:      "the HPA scales one Deployment and has no traffic split across revisions",
		OpenFaaS: "OpenFaaS CE has one version of a function and no traffic split across revisions",
	}[target]
	return fmt.Sprintf("policy %s: function %s has revisions, and %s; its kind run compares knative and scalebench's controller (kpa)", target, function, what)
}

// renderRevisions is Render for a function with revisions: a Knative
// Service with a Revision per scenario revision and spec.traffic for the
// split, and scalebench's controller with a Deployment per revision and
// the activator's route ConfigMap; the HPA and OpenFaaS are refused.
func (s *Set) renderRevisions(sc *scenarios.Scenario, f scenarios.Function, name string, opt Options) error {
	steps := f.Split
	rolled := map[int]bool{}
	if ro := opt.Rollout; ro != nil {
		steps = route.ApplyRollout(f.Split, *ro, len(f.Revisions))
		rolled = route.RolledOut(f.Split)
		if (ro.MatchInitialScale || ro.MatchMinScale) && opt.MatchPods < 1 {
			return fmt.Errorf("targets: rollout %s pre-scales the new revision to the pods the old one has then, which a manifest written beforehand cannot know: give the count (kind manifests --match-pods N, bench.sh MATCH_PODS=N)", ro.Name)
		}
	}
	// variant lays the rollout variant over a rolled-out revision's
	// settings, as the simulator does when it creates the revision.
	variant := func(j int, set map[string]string) map[string]string {
		if opt.Rollout == nil || !rolled[j] {
			return set
		}
		out, _, _ := route.VariantSettings(*opt.Rollout, set, opt.MatchPods)
		return out
	}
	for _, r := range sc.Rollouts {
		s.Rollouts = append(s.Rollouts, r.Name)
	}
	suffix := ""
	if opt.Rollout != nil {
		suffix = "/" + opt.Rollout.Name
	}
	// The bench's rows for the targets rendered: a target runs under a
	// policy the scenario lists (the kind backend's doors by policy name).
	for _, tp := range [][2]string{{Knative, "knative"}, {Scalebench, "kpa"}} {
		for _, p := range sc.Policies {
			if p.Label == tp[1]+suffix {
				s.Runs = append(s.Runs, [2]string{tp[0], p.Label})
			}
		}
	}
	s.Refused = map[string]string{}
	for _, t := range []string{OpenFaaS, HPA} {
		s.Refused[t] = RefusedMessage(t, f.Name)
		s.Notes[t] = []string{"not run: " + s.Refused[t]}
	}
	if err := s.knativeRevisions(sc, f, name, opt, steps, variant); err != nil {
		return err
	}
	return s.scalebenchRevisions(sc, f, name, opt, steps, variant)
}

// event is a moment of the schedule: revisions created then, the split
// requested from then on.
type event struct {
	at      time.Duration
	created []int
	step    *scenarios.SplitStep
}

func timeline(f scenarios.Function, steps []scenarios.SplitStep) []event {
	byAt := map[time.Duration]*event{}
	get := func(at time.Duration) *event {
		if byAt[at] == nil {
			byAt[at] = &event{at: at}
		}
		return byAt[at]
	}
	for j, r := range f.Revisions {
		e := get(r.DeployAt)
		e.created = append(e.created, j)
	}
	for i := range steps {
		get(steps[i].At).step = &steps[i] // the last step at a time wins
	}
	var out []event
	for _, e := range byAt {
		out = append(out, *e)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].at < out[b].at })
	return out
}

func (s *Set) knativeRevisions(sc *scenarios.Scenario, f scenarios.Function, name string, opt Options, steps []scenarios.SplitStep, variant func(int, map[string]string) map[string]string) error {
	base, from, err := settings(sc, "knative")
	if err != nil {
		return err
	}
	notes := []string{fmt.Sprintf("Knative Service %s/%s, class kpa.autoscaling.knative.dev, from the scenario's %q settings with each revision's own over them; one Revision per scenario revision, named by the template's metadata.name, the split in spec.traffic", opt.Namespace, name, from)}
	templates := make([]map[string]any, len(f.Revisions))
	var cluster map[string]string
	for j, rev := range f.Revisions {
		set := maps.Clone(base)
		if set == nil {
			set = map[string]string{}
		}
		maps.Copy(set, rev.Settings)
		set = variant(j, set)
		tmpl, cl, more, err := knativeTemplate(set, rev.Function, opt)
		if err != nil {
			return fmt.Errorf("targets: function %s, revision %s: %w", f.Name, rev.Name, err)
		}
		tmpl["metadata"].(map[string]any)["name"] = revisionObjectName(name, rev.Name)
		templates[j] = tmpl
		cluster = cl // cluster-wide keys are the policy's, the same for every revision
		for _, n := range more {
			notes = append(notes, "revision "+rev.Name+": "+n)
		}
	}
	latest := -1
	var inForce []any // the traffic of the last generation
	var req *scenarios.SplitStep
	created := make([]bool, len(f.Revisions))
	tl := timeline(f, steps)
	for _, e := range tl {
		if e.step != nil {
			req = e.step
		}
		gens := len(e.created)
		if gens == 0 {
			gens = 1
		}
		for g := 0; g < gens; g++ {
			what := ""
			if len(e.created) > 0 {
				j := e.created[g]
				latest, created[j] = j, true
				what = "creates revision " + f.Revisions[j].Name
			}
			// The split requested is applied once every revision it names
			// exists; until then (a revision of the same moment still to
			// come) the traffic in force stays.
			traffic, dur, ok := knativeTraffic(req, latest, created, f, name)
			if !ok || (g < len(e.created)-1 && inForce != nil) {
				traffic, dur = inForce, 0
			} else if req != nil {
				what = joinWhat(what, describeStep(*req, f))
			}
			if traffic == nil {
				// Before any split: the Service's first Revision has it all.
				traffic = []any{map[string]any{"latestRevision": true, "percent": 100}}
			}
			inForce = traffic
			for j, rev := range f.Revisions {
				if created[j] && rev.Tag != "" {
					traffic = append(slices.Clone(traffic), map[string]any{"tag": rev.Tag, "revisionName": revisionObjectName(name, rev.Name), "percent": 0})
				}
			}
			meta := map[string]any{"name": name, "namespace": opt.Namespace}
			if dur > 0 {
				meta["annotations"] = map[string]string{"serving.knative.dev/rollout-duration": strconv.Itoa(int(dur.Round(time.Second)/time.Second)) + "s"}
			}
			st := Stage{At: e.at, Target: Knative, What: what, Objects: []Object{{Knative, map[string]any{
				"apiVersion": "serving.knative.dev/v1",
				"kind":       "Service",
				"metadata":   meta,
				"spec":       map[string]any{"template": templates[latest], "traffic": traffic},
			}}}}
			if len(e.created) > 0 {
				st.Revision = revisionObjectName(name, f.Revisions[e.created[g]].Name)
			}
			s.Stages = append(s.Stages, st)
		}
	}
	for _, st := range s.Stages {
		if st.Target == Knative {
			notes = append(notes, fmt.Sprintf("at %v: %s", st.At, st.What))
		}
	}
	notes = append(notes, "the split is static per Service generation: bench.sh applies each generation at its time from the start of Knative's traffic; Knative moves traffic only to Ready revisions, and a rollout-duration is Knative's gradual rollout when the rollout's revision is the Service's latest one created at that step (otherwise the step moves traffic at once)")
	if tags := tagged(f); tags != "" {
		notes = append(notes, "tags (a 0% traffic entry each, tag-"+name+"."+opt.Namespace+"...): "+tags+"; the kind run sends no tag traffic")
	}
	notes = append(notes, s.knativeCluster(cluster)...)
	s.Notes[Knative] = notes
	return nil
}

func joinWhat(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func tagged(f scenarios.Function) string {
	var out []string
	for _, r := range f.Revisions {
		if r.Tag != "" {
			out = append(out, r.Tag+"="+r.Name)
		}
	}
	return joinList(out)
}

func joinList(xs []string) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ", "
		}
		s += x
	}
	return s
}

func describeStep(st scenarios.SplitStep, f scenarios.Function) string {
	if st.Rollout >= 0 {
		if st.RolloutDuration > 0 {
			return fmt.Sprintf("rolls out to %s over %v", f.Revisions[st.Rollout].Name, st.RolloutDuration)
		}
		return "switches to " + f.Revisions[st.Rollout].Name
	}
	var parts []string
	for j, p := range st.Percent {
		parts = append(parts, fmt.Sprintf("%s %d%%", f.Revisions[j].Name, p))
	}
	return "split " + joinList(parts)
}

// knativeTraffic is spec.traffic for the requested step with latest the
// Service's newest Revision: 100% to latest as a Configuration target
// (latestRevision: true, so the next template's Revision is rolled out to
// by Knative, with its rollout-duration), anything else by revisionName.
// ok is false while the step names a revision not created yet.
func knativeTraffic(req *scenarios.SplitStep, latest int, created []bool, f scenarios.Function, name string) (traffic []any, dur time.Duration, ok bool) {
	if req == nil {
		return nil, 0, true
	}
	percent := req.Percent
	if req.Rollout >= 0 {
		percent = make([]int, len(f.Revisions))
		percent[req.Rollout] = 100
		dur = req.RolloutDuration
	}
	for j, p := range percent {
		if p > 0 && !created[j] {
			return nil, 0, false
		}
	}
	if latest >= 0 && percent[latest] == 100 {
		return []any{map[string]any{"latestRevision": true, "percent": 100}}, dur, true
	}
	for j, p := range percent {
		if p > 0 {
			traffic = append(traffic, map[string]any{"revisionName": revisionObjectName(name, f.Revisions[j].Name), "percent": p})
		}
	}
	return traffic, 0, true
}

// scalebenchRevisions is the function under scalebench's controller: a
// Deployment and Service per revision (the kind target's pods, each
// revision's own start-up and settings) and the activator's route
// ConfigMap, named like the target's Service of a function without
// revisions, so the activator's /NAMESPACE/NAME-scalebench/ is the door
// either way.
func (s *Set) scalebenchRevisions(sc *scenarios.Scenario, f scenarios.Function, name string, opt Options, steps []scenarios.SplitStep, variant func(int, map[string]string) map[string]string) error {
	base, from, err := settings(sc, "kpa", "knative")
	if err != nil {
		return err
	}
	rt := activator.Route{Name: name + "-" + Scalebench, Steps: steps, Seed: uint64(sc.Seed)}
	notes := []string{fmt.Sprintf("a Deployment per revision under scalebench's controller, policy %s, from the scenario's %q settings with each revision's own over them; the split by the activator's route ConfigMap %s/%s (docs/readme-kubernetes.md), its schedule starting when bench.sh stamps scalebench.dev/route-start at the start of this target's traffic", from, from, opt.Namespace, rt.Name)}
	stages := map[time.Duration]*Stage{}
	for j, rev := range f.Revisions {
		set := maps.Clone(base)
		if set == nil {
			set = map[string]string{}
		}
		maps.Copy(set, rev.Settings)
		set = variant(j, set)
		all, err := policySettings(from, set)
		if err != nil {
			return fmt.Errorf("targets: function %s, revision %s: %w", f.Name, rev.Name, err)
		}
		initial := 1
		if v, ok := all["initial-scale"]; ok {
			if initial, err = strconv.Atoi(v); err != nil {
				return fmt.Errorf("targets: function %s, revision %s: initial-scale %q: want a whole number", f.Name, rev.Name, v)
			}
		}
		ann := map[string]string{"autoscaling.knative.dev/class": from}
		for _, k := range sortedKeys(set) {
			if a := knativeAnnotations[k]; a != "" {
				ann["autoscaling.knative.dev/"+a] = set[k]
			} else {
				ann["autoscaling.scalebench.dev/"+k] = set[k]
			}
		}
		if rev.ContainerConcurrency > 0 {
			ann["autoscaling.scalebench.dev/container-concurrency"] = strconv.Itoa(rev.ContainerConcurrency)
		}
		revName := revisionObjectName(name, rev.Name)
		dep := deployment(rev.Function, revName, Scalebench, opt, int32(initial), ann)
		// Every revision's pods carry the function's name, so the run
		// counts them together.
		dep.Spec.Template.Labels = maps.Clone(dep.Spec.Template.Labels)
		dep.Spec.Template.Labels[FunctionLabel] = name
		svc := service(revName, Scalebench, opt, 0)
		rt.Revisions = append(rt.Revisions, svc.Name)
		rt.InitialScale = append(rt.InitialScale, initial)
		st := stages[rev.DeployAt]
		if st == nil {
			st = &Stage{At: rev.DeployAt, Target: Scalebench}
			stages[rev.DeployAt] = st
		}
		st.What = joinWhat(st.What, "creates revision "+rev.Name+" ("+dep.Name+", "+strconv.Itoa(initial)+" replicas)")
		st.Objects = append(st.Objects, Object{Scalebench, dep}, Object{Scalebench, svc})
		notes = append(notes, "revision "+rev.Name+": annotations: "+joinKV(ann))
	}
	cm, err := activator.RouteConfigMap(rt, opt.Namespace)
	if err != nil {
		return fmt.Errorf("targets: function %s: %w", f.Name, err)
	}
	stages[0].Objects = append(stages[0].Objects, Object{Scalebench, cm})
	stages[0].What = joinWhat(stages[0].What, "the route "+rt.Name)
	ats := make([]time.Duration, 0, len(stages))
	for at := range stages {
		ats = append(ats, at)
	}
	slices.Sort(ats)
	for _, at := range ats {
		s.Stages = append(s.Stages, *stages[at])
		notes = append(notes, fmt.Sprintf("at %v: %s", at, stages[at].What))
	}
	notes = append(notes, sidecarNotes(opt)...)
	s.Notes[Scalebench] = notes
	return nil
}

// FunctionLabel names the function on every pod of its revisions in the
// scalebench target.
const FunctionLabel = "scalebench.dev/function"

// writeStages writes each stage as stages/NN-TARGET.yaml and their order as
// stages.tsv: target, seconds from the target's traffic start, the
// Knative Revision to wait for ("-": none), file, what the stage does.
func (s *Set) writeStages(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "stages"), 0o755); err != nil {
		return err
	}
	var tsv strings.Builder
	tsv.WriteString("# target\tat_seconds\twait_revision\tfile\twhat\n")
	for i, st := range s.Stages {
		y, err := objectsYAML(st.Objects)
		if err != nil {
			return err
		}
		file := fmt.Sprintf("stages/%02d-%s.yaml", i, st.Target)
		if err := os.WriteFile(filepath.Join(dir, file), y, 0o644); err != nil {
			return err
		}
		wait := st.Revision
		if wait == "" || st.Target != Knative {
			wait = "-"
		}
		fmt.Fprintf(&tsv, "%s\t%s\t%s\t%s\t%s\n", st.Target, strconv.FormatFloat(st.At.Seconds(), 'f', -1, 64), wait, file, st.What)
	}
	if err := os.WriteFile(filepath.Join(dir, "stages.tsv"), []byte(tsv.String()), 0o644); err != nil {
		return err
	}
	var runs strings.Builder
	runs.WriteString("# target\tpolicy\n")
	for _, r := range s.Runs {
		fmt.Fprintf(&runs, "%s\t%s\n", r[0], r[1])
	}
	if err := os.WriteFile(filepath.Join(dir, "runs.tsv"), []byte(runs.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "rollouts.txt"), []byte(strings.Join(append(slices.Clone(s.Rollouts), ""), "\n")), 0o644)
}
