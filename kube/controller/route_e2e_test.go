//go:build e2e

package controller_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scalebench/scalebench/internal/wire"
	"github.com/scalebench/scalebench/kube/activator"
	"github.com/scalebench/scalebench/kube/e2e"
	"github.com/scalebench/scalebench/kube/targets"
	"github.com/scalebench/scalebench/scenarios"
)

const routeScenario = `name: route-e2e
duration: 5m
functions:
  - name: api
    startup:
      containerStart: fixed:50ms
    revisions:
      - name: v1
      - name: v2
    split:
      - {at: 0s, percent: {v1: 70, v2: 30}}
traffic: constant:rate=10
policies: [knative]
`

// TestRouteConfigMapUnderTheControllerCommand is the deployable route:
// `scalebench controller --activator-addr` under exactly
// deploy/controller/rbac.yaml's Role splits a function across its
// revisions by the route ConfigMap that targets.Revisions renders, and
// follows a `kubectl apply` of a new split.
func TestRouteConfigMapUnderTheControllerCommand(t *testing.T) {
	env := e2e.Get(t)
	ns := env.Namespace(t)
	cs := env.Client
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	applyRBAC(t, ctx, cs, ns)
	kubeconfig := saKubeconfig(t, ctx, env, ns)

	path := filepath.Join(t.TempDir(), "route.yaml")
	if err := os.WriteFile(path, []byte(routeScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	set, err := targets.Revisions(sc, 0, targets.RevisionOptions{Namespace: ns, Policy: "knative"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.Revisions {
		if _, err := cs.CoreV1().Services(ns).Create(ctx, r.Service, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, r.Deployment, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cm, err := set.RouteConfigMap(ns, time.Time{}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, env, kubeconfig, ns, "a", freeAddr(t), freeAddr(t), nil)
	v1, v2 := set.Revisions[0].Service.Name, set.Revisions[1].Service.Name
	url := "http://" + r.activator + "/" + ns + "/" + set.Function + "/?work=1ms"
	client := &http.Client{Timeout: 30 * time.Second}
	served := func() (string, error) {
		resp, err := client.Get(url)
		if err != nil {
			return "", err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
		}
		pod := resp.Header.Get(wire.HeaderInstance)
		for _, rev := range []string{v1, v2} {
			if strings.HasPrefix(pod, rev+"-") {
				return rev, nil
			}
		}
		return "", fmt.Errorf("pod %q is neither revision's", pod)
	}
	e2e.Eventually(t, 2*time.Minute, "the route serves", func() error { _, err := served(); return err })

	counts := map[string]int{}
	const n = 600
	for range n {
		rev, err := served()
		if err != nil {
			t.Fatal(err)
		}
		counts[rev]++
	}
	share := float64(counts[v2]) / n
	t.Logf("70/30 from the ConfigMap: %v, v2 share %.3f", counts, share)
	if sd := math.Sqrt(0.3 * 0.7 / n); math.Abs(share-0.3) > 4*sd {
		t.Fatalf("v2 served %.3f of the requests, want 0.30 within %.3f", share, 4*sd)
	}

	// A new split, applied as a user would: the same ConfigMap, edited.
	cur, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Data[activator.RouteKey] = strings.Replace(cur.Data[activator.RouteKey], v1+": 70, "+v2+": 30", v1+": 0, "+v2+": 100", 1)
	if _, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e2e.Eventually(t, 30*time.Second, "the edited split is in force", func() error {
		for range 20 {
			rev, err := served()
			if err != nil {
				return err
			}
			if rev != v2 {
				return fmt.Errorf("a request went to %s", rev)
			}
		}
		return nil
	})
	if log := r.log.String(); strings.Contains(log, "forbidden") || strings.Contains(log, "route refused") {
		t.Fatalf("the controller's log has a refusal:\n%s", log)
	}

	// A broken edit: the split in force stays, and a Warning Event on the
	// ConfigMap says why.
	cur, err = cs.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Data[activator.RouteKey] = strings.Replace(cur.Data[activator.RouteKey], v2+": 100", v2+": 90", 1)
	if _, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e2e.Eventually(t, 30*time.Second, "a RouteRefused Event on the ConfigMap", func() error {
		evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + cm.Name})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Reason == "RouteRefused" && strings.Contains(e.Message, "sum to 90") {
				t.Logf("Event: %s", e.Message)
				return nil
			}
		}
		return fmt.Errorf("%d events, none RouteRefused", len(evs.Items))
	})
	for range 20 {
		if rev, err := served(); err != nil || rev != v2 {
			t.Fatalf("after a broken edit a request went to %s (%v), want v2's split kept", rev, err)
		}
	}
}
