package activator

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/scenarios"
)

const canaryRoute = `revisions:
  - name: api-v1
    initialScale: 5
  - name: api-v2
split:
  - {at: 0s, percent: {api-v1: 100}}
  - {at: 3m, percent: {api-v1: 90, api-v2: 10}}
  - {at: 5m, rollout: api-v2, duration: 2m}
seed: 21
`

func TestParseRoute(t *testing.T) {
	r, err := ParseRoute("cm", []byte(canaryRoute))
	if err != nil {
		t.Fatal(err)
	}
	want := Route{Revisions: []string{"api-v1", "api-v2"}, InitialScale: []int{5, 1}, Seed: 21, Steps: []scenarios.SplitStep{
		{At: 0, Percent: []int{100, 0}, Rollout: -1},
		{At: 3 * time.Minute, Percent: []int{90, 10}, Rollout: -1},
		{At: 5 * time.Minute, Rollout: 1, RolloutDuration: 2 * time.Minute},
	}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	// What MarshalRoute writes reads back as the same route.
	want.Name = "api"
	b, err := MarshalRoute(want)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseRoute("cm", b)
	if err != nil {
		t.Fatalf("%v in\n%s", err, b)
	}
	back.Name = "api"
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("round trip: got %+v\nwant %+v\n%s", back, want, b)
	}
}

func TestParseRouteRefuses(t *testing.T) {
	two := "revisions:\n  - name: a\n  - name: b\n"
	cases := []struct {
		name, text string
		line       int
		want       string
	}{
		{"empty", "", 0, "empty"},
		{"not yaml", "revisions: [", 1, "cm"},
		{"unknown key", "revisions:\n  - name: a\nsplt: []\n", 3, "splt: unknown key"},
		{"no revisions", "split: []\n", 1, "at least one"},
		{"revision without a name", "revisions:\n  - initialScale: 2\n", 2, "missing"},
		{"revision twice", "revisions:\n  - name: a\n  - name: a\n", 3, "given twice"},
		{"bad initial scale", "revisions:\n  - name: a\n    initialScale: -1\n", 3, "pod count"},
		{"two revisions and no split", two, 1, "want a split"},
		{"percentages not 100", two + "split:\n  - {at: 0s, percent: {a: 60, b: 30}}\n", 5, "sum to 90"},
		{"unknown revision", two + "split:\n  - {at: 0s, percent: {a: 50, c: 50}}\n", 5, `no revision "c"`},
		{"unknown rollout target", two + "split:\n  - {at: 0s, percent: {a: 100}}\n  - {at: 1m, rollout: z}\n", 6, `no revision "z"`},
		{"both", two + "split:\n  - {at: 0s, percent: {a: 100}, rollout: b}\n", 5, "either"},
		{"neither", two + "split:\n  - {at: 0s}\n", 5, "want percent"},
		{"no at", two + "split:\n  - {percent: {a: 100}}\n", 5, "split[0].at: missing"},
		{"out of order", two + "split:\n  - {at: 2m, percent: {a: 100}}\n  - {at: 1m, rollout: b}\n", 6, "time order"},
		{"bad duration", two + "split:\n  - {at: 0s, percent: {a: 100}}\n  - {at: 1m, rollout: b, duration: soon}\n", 6, "want a duration"},
		{"duration on a percent step", two + "split:\n  - {at: 0s, percent: {a: 100}, duration: 1m}\n", 5, "belongs to a rollout"},
		{"bad seed", "revisions:\n  - name: a\nseed: x\n", 3, "whole number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseRoute("cm", []byte(c.text))
			var be *badinput.Error
			if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err %v, want a one-line bad-input error naming %q", err, c.want)
			}
			if c.line > 0 {
				if ok := asBadInput(err, &be); !ok || be.Line != c.line {
					t.Fatalf("err %v: want line %d", err, c.line)
				}
			}
		})
	}
}

func asBadInput(err error, be **badinput.Error) bool {
	e, ok := err.(*badinput.Error)
	*be = e
	return ok
}

func FuzzParseRoute(f *testing.F) {
	f.Add([]byte(canaryRoute))
	f.Add([]byte("revisions:\n  - name: a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRoute("cm", data)
		if err != nil {
			if !badinput.Is(err) {
				t.Fatalf("not a bad-input error: %v", err)
			}
			return
		}
		// What parses is a route the activator can put in force.
		r.Name = "fn-route"
		for _, rev := range r.Revisions {
			if rev == r.Name {
				return
			}
		}
		if _, err := newRouter(r); err != nil {
			t.Fatalf("parsed %q but the router refuses it: %v", data, err)
		}
	})
}

// A route ConfigMap puts its route in force; an edit that does not parse
// leaves it as it was; deleting the ConfigMap takes it away.
func TestRouteConfigMapWatched(t *testing.T) {
	start := time.Now().Add(-10 * time.Second)
	cm, err := RouteConfigMap(Route{Name: "api", Revisions: []string{"api-v1", "api-v2"}, InitialScale: []int{0, 0}, Start: start,
		Steps: []scenarios.SplitStep{pctStep(0, 80, 20), pctStep(time.Hour, 0, 100)}}, "fns")
	if err != nil {
		t.Fatal(err)
	}
	if cm.Labels[RouteLabel] != "true" || cm.Annotations[RouteStartAnnotation] == "" {
		t.Fatalf("ConfigMap %+v", cm.ObjectMeta)
	}
	unlabelled := cm.DeepCopy()
	unlabelled.Name, unlabelled.Labels = "other", nil
	client := fake.NewClientset(cm, unlabelled)
	a, err := New(Config{Client: client, Namespace: "fns", WatchRoutes: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)
	waitFor(t, func() bool { return a.Split("api")["api-v2"] == 20 })
	if a.Split("other") != nil {
		t.Fatal("an unlabelled ConfigMap became a route")
	}

	bad := cm.DeepCopy()
	bad.Data[RouteKey] = "revisions: []\n"
	if _, err := client.CoreV1().ConfigMaps("fns").Update(ctx, bad, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	moved := cm.DeepCopy()
	moved.Data[RouteKey] = strings.Replace(moved.Data[RouteKey], "at: 1h0m0s", "at: 1s", 1)
	time.Sleep(100 * time.Millisecond)
	if s := a.Split("api"); s["api-v2"] != 20 {
		t.Fatalf("after a broken edit the split is %v, want the old route's", s)
	}
	// kubectl describe configmap api says why.
	waitFor(t, func() bool {
		evs, _ := client.CoreV1().Events("fns").List(ctx, metav1.ListOptions{})
		for _, e := range evs.Items {
			if e.Reason == "RouteRefused" && e.InvolvedObject.Name == "api" && strings.Contains(e.Message, "route.yaml:1: revisions") {
				return true
			}
		}
		return false
	})
	if _, err := client.CoreV1().ConfigMaps("fns").Update(ctx, moved, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return a.Split("api")["api-v2"] == 100 })

	if err := client.CoreV1().ConfigMaps("fns").Delete(ctx, "api", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return a.Split("api") == nil })
}
