package bench

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// The kind backend sends the scenario's traffic to the policy's door, with
// its Host, and takes the pods from the API: here a real HTTP server on
// loopback stands in for the front door and a fake clientset for the API.
func TestKindRunCountsPodsFromTheAPI(t *testing.T) {
	var hosts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == "api.ns.kind.local" {
			hosts.Add(1)
		}
		w.Header().Set("X-Instance", "api-1")
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	client := fake.NewClientset()
	mkPod := func(name string) {
		client.CoreV1().Pods("ns").Create(context.Background(), &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: map[string]string{"serving.knative.dev/service": "api"}},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}, metav1.CreateOptions{})
	}
	mkPod("api-1")
	go func() {
		time.Sleep(1200 * time.Millisecond)
		mkPod("api-2")
	}()
	pat, err := traffic.Parse("constant:rate=20")
	if err != nil {
		t.Fatal(err)
	}
	sc := &scenarios.Scenario{Name: "s", Duration: 3 * time.Second, Seed: 1, Traffic: pat, Functions: []scenarios.Function{{Name: "api"}}}
	k := Kind{Client: client, Doors: map[string]Door{
		"knative": {URL: srv.URL + "/", Host: "api.ns.kind.local", Namespace: "ns", Selector: "serving.knative.dev/service=api"},
	}}
	var ts bytes.Buffer
	var seconds []Second
	res, err := k.Run(context.Background(), Run{Scenario: sc, Policy: scenarios.Policy{Name: "knative", Label: "knative"},
		Timeseries: &ts, Second: func(s Second) { seconds = append(seconds, s) }})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Backend != "kind" || s.Policy != "knative" || s.Scenario != "s" {
		t.Errorf("summary labels %q %q %q", s.Backend, s.Policy, s.Scenario)
	}
	if s.Requests != 60 || s.Completed != 60 || hosts.Load() != 60 {
		t.Errorf("requests %d completed %d with the Host %d, want 60", s.Requests, s.Completed, hosts.Load())
	}
	if s.PodStarts != 1 || s.MaxPods != 2 || s.PodSeconds < 3 || s.PodSeconds > 6 {
		t.Errorf("pods: %d starts, %d max, %.1f pod-seconds; want 1, 2 and 3..6", s.PodStarts, s.MaxPods, s.PodSeconds)
	}
	if !strings.HasPrefix(ts.String(), "t,pods,ready\n0,1,1\n") {
		t.Errorf("timeseries:\n%s", ts.String())
	}
	if len(seconds) < 2 || seconds[0].Ready != 1 {
		t.Errorf("seconds %+v", seconds)
	}

	if _, err := k.Run(context.Background(), Run{Scenario: sc, Policy: scenarios.Policy{Name: "keepalive"}}); err == nil ||
		!strings.Contains(err.Error(), "has no target") {
		t.Errorf("a policy without a kind target: err = %v", err)
	}
}

// A function with revisions runs on Knative and scalebench's controller;
// the targets without a traffic split refuse it in one line naming the
// policy.
func TestKindRefusesRevisionsWithoutASplit(t *testing.T) {
	sc := &scenarios.Scenario{Name: "s", Duration: time.Second, Functions: []scenarios.Function{{Name: "api",
		Revisions: []scenarios.Revision{{Function: scenarios.Function{Name: "v1"}}, {Function: scenarios.Function{Name: "v2"}}}}}}
	b := kindBackend{client: fake.NewClientset(), ns: "ns"}
	for _, p := range []string{"hpa", "openfaas-ce"} {
		_, err := b.Run(context.Background(), Run{Scenario: sc, Policy: scenarios.Policy{Name: p}})
		if err == nil || !strings.Contains(err.Error(), "policy "+p) || !strings.Contains(err.Error(), "revisions") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err %v, want one line naming the policy", p, err)
		}
	}
}
