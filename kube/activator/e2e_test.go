//go:build e2e

package activator_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scalebench/scalebench/internal/wire"
	"github.com/scalebench/scalebench/kube/activator"
	"github.com/scalebench/scalebench/kube/controller"
	"github.com/scalebench/scalebench/kube/e2e"
	"github.com/scalebench/scalebench/kube/targets"
	"github.com/scalebench/scalebench/scenarios"
)

func TestMain(m *testing.M) { e2e.Main(m) }

// switchAt is when the split moves v1's share to v2, from the route's start.
const switchAt = 45 * time.Second

// The scenario of the test: two revisions of one function, 90/10, then
// everything to v2, under Knative's policy with short windows.
var splitScenario = fmt.Sprintf(`name: split-e2e
duration: 5m
functions:
  - name: api
    startup:
      containerStart: fixed:50ms
      appInit: fixed:100ms
    revisions:
      - name: v1
      - name: v2
    split:
      - {at: 0s, percent: {v1: 90, v2: 10}}
      - {at: %s, percent: {v1: 0, v2: 100}}
traffic: constant:rate=10
policies:
  - name: knative
    settings:
      stable-window: 6s
      scale-to-zero-grace-period: 3s
`, switchAt)

// TestRevisionsSplitOnTheAPIServer deploys one Deployment per revision
// (targets.Revisions) on the real API server and the scalebench node,
// scaled by scalebench's controller, and sends the function's requests
// through the activator's route: at 90/10 the revisions serve in that
// proportion; once the schedule gives v1 0%, v1 gets nothing more and
// scales to zero while v2 serves everything.
func TestRevisionsSplitOnTheAPIServer(t *testing.T) {
	env := e2e.Get(t)
	ns := env.Namespace(t)
	cs := env.Client
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	path := filepath.Join(t.TempDir(), "split.yaml")
	if err := os.WriteFile(path, []byte(splitScenario), 0o644); err != nil {
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
	ctrl, err := controller.New(controller.Config{Client: cs, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { ccancel(); wg.Wait() }()
	wg.Add(2)
	go func() { defer wg.Done(); ctrl.Run(cctx) }()
	act, err := activator.New(activator.Config{Client: cs, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	go func() { defer wg.Done(); act.Run(cctx) }()
	front := httptest.NewServer(act)
	defer front.Close()

	v1, v2 := set.Revisions[0].Service.Name, set.Revisions[1].Service.Name
	e2e.Eventually(t, 2*time.Minute, "both revisions have a ready endpoint", func() error {
		if len(act.Endpoints(v1)) == 0 || len(act.Endpoints(v2)) == 0 {
			return fmt.Errorf("endpoints %v %v", act.Endpoints(v1), act.Endpoints(v2))
		}
		return nil
	})
	start := time.Now()
	if err := act.SetRoute(set.Route(start, 11)); err != nil {
		t.Fatal(err)
	}

	// served sends one request to the function and names the revision
	// whose pod answered (pods are named after their Deployment).
	client := &http.Client{Timeout: 30 * time.Second}
	served := func() (string, error) {
		resp, err := client.Get(front.URL + "/" + ns + "/" + set.Function + "/?work=1ms")
		if err != nil {
			return "", err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("status %d", resp.StatusCode)
		}
		pod := resp.Header.Get(wire.HeaderInstance)
		for _, rev := range []string{v1, v2} {
			if strings.HasPrefix(pod, rev+"-") {
				return rev, nil
			}
		}
		return "", fmt.Errorf("pod %q is neither revision's", pod)
	}

	// 90/10: requests answered well before the switch, 4 at a time.
	var mu sync.Mutex
	counts := map[string]int{}
	var failed error
	deadline := start.Add(switchAt - 5*time.Second)
	var load sync.WaitGroup
	for range 4 {
		load.Add(1)
		go func() {
			defer load.Done()
			for n := 0; n < 400 && time.Now().Before(deadline); n++ {
				rev, err := served()
				mu.Lock()
				if err != nil {
					failed = err
				} else if time.Now().Before(deadline) {
					counts[rev]++
				}
				mu.Unlock()
			}
		}()
	}
	load.Wait()
	if failed != nil {
		t.Fatalf("a request through the route failed: %v", failed)
	}
	n := counts[v1] + counts[v2]
	share := float64(counts[v2]) / float64(n)
	t.Logf("90/10 split: %v of %d requests, v2 share %.3f", counts, n, share)
	// Binomial(n, 0.1): four standard deviations either way.
	if sd := 0.3 / math.Sqrt(float64(n)); n < 300 || share < 0.1-4*sd || share > 0.1+4*sd {
		t.Fatalf("v2 served %d of %d (%.3f), want 10%% within %.3f (and at least 300 requests)", counts[v2], n, share, 4*sd)
	}

	// A trickle of requests from now on, so that v1 has traffic up to the
	// switch and scales to zero because its share went to 0%, not because
	// the function went idle.
	stop := make(chan struct{})
	after := map[string]int{}
	var trickleErr error
	load.Add(1)
	go func() {
		defer load.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			rev, err := served()
			mu.Lock()
			if err != nil {
				trickleErr = err
			} else if time.Since(start) > switchAt+time.Second {
				after[rev]++
			}
			mu.Unlock()
		}
	}()
	defer func() { close(stop); load.Wait() }()
	time.Sleep(time.Until(start.Add(switchAt - time.Second)))
	if d, err := cs.AppsV1().Deployments(ns).Get(ctx, v1, metav1.GetOptions{}); err != nil || *d.Spec.Replicas < 1 {
		t.Fatalf("v1 at 90%% of the trickle has replicas %v before the switch (%v)", d.Spec.Replicas, err)
	}

	// After the switch: everything to v2, and v1 scales to zero.
	time.Sleep(time.Until(start.Add(switchAt + time.Second)))
	if s := act.Split(set.Function); s[v1] != 0 || s[v2] != 100 {
		t.Fatalf("split after %v: %v", switchAt, s)
	}
	e2e.Eventually(t, 90*time.Second, "v1 at 0% scales to zero", func() error {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, v1, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *d.Spec.Replicas != 0 || len(act.Endpoints(v1)) != 0 {
			return fmt.Errorf("v1 replicas %d, endpoints %v", *d.Spec.Replicas, act.Endpoints(v1))
		}
		return nil
	})
	mu.Lock()
	t.Logf("after the switch: %v; v1 at zero %v after it", after, time.Since(start.Add(switchAt)).Round(time.Second))
	if trickleErr != nil {
		t.Fatalf("a request of the trickle failed: %v", trickleErr)
	}
	if after[v1] != 0 || after[v2] == 0 {
		t.Fatalf("after the switch requests went to %v, want v2 only", after)
	}
	mu.Unlock()
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, v2, metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas < 1 {
		t.Fatalf("v2, serving everything, has replicas %v (%v)", d.Spec.Replicas, err)
	}
}
