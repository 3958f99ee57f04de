package platform

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/platform/activator"
)

// onPoke is a test policy: no pod until a request waits, then one.
type onPoke struct {
	name string
	want int
}

func (p *onPoke) Name() string                           { return p.name }
func (p *onPoke) Interval() time.Duration                { return time.Second }
func (p *onPoke) Record(time.Time, autoscaler.Stat) bool { return false }
func (p *onPoke) Poke(_ time.Time, demand float64) bool {
	if demand > 0 && p.want == 0 {
		p.want = 1
		return true
	}
	return false
}
func (p *onPoke) Tick(time.Time, autoscaler.Pods) autoscaler.Decision {
	return autoscaler.Decision{Valid: true, Desired: p.want}
}

var registerOnPoke = sync.OnceFunc(func() {
	for name, path := range map[string]autoscaler.RequestPath{
		"test-onpoke-activator": autoscaler.PathActivator,
		"test-onpoke-gateway":   autoscaler.PathGateway,
		"test-onpoke-direct":    autoscaler.PathDirect,
	} {
		if err := autoscaler.Register(name, "test: one pod once a request waits", path, func(map[string]string) (autoscaler.Policy, error) {
			return &onPoke{name: name}, nil
		}); err != nil {
			panic(err)
		}
	}
})

// A request that finds no ready pod meets its request path, as in the
// simulator: the activator buffers it and the gateway holds it (both serve
// it cold from the pod the poke starts), the direct path (a Service with no
// endpoints) refuses it at once.
func TestRequestPathAtZero(t *testing.T) {
	for _, tc := range []struct {
		policy     string
		wantStatus int
		wantErr    string
	}{
		{policy: "test-onpoke-activator", wantStatus: 200},
		{policy: "test-onpoke-gateway", wantStatus: 200},
		{policy: "test-onpoke-direct", wantStatus: http.StatusServiceUnavailable, wantErr: activator.ErrNoEndpoints},
	} {
		registerOnPoke()
		t.Run(tc.policy, func(t *testing.T) {
			p := start(t, Function{Name: "f", ContainerConcurrency: 1, Policy: tc.policy, Args: []string{"--init=100ms"}})
			got := lambdaGet(t, p, "")
			if got.status != tc.wantStatus || tc.wantStatus == 200 && !got.cold {
				t.Fatalf("request at zero: %+v, want status %d (cold when served)", got, tc.wantStatus)
			}
			if tc.wantErr != "" && p.Errors("f")[tc.wantErr] != 1 {
				t.Fatalf("errors %v, want one %s", p.Errors("f"), tc.wantErr)
			}
		})
	}
}

// The HPA and OpenFaaS deploy a function with the one replica its
// Deployment starts with, though their first decision has no data, as in
// the simulator (autoscaler.DeployedPods): the first request is warm.
func TestDeploymentStartsWithOneReplica(t *testing.T) {
	for _, policy := range []string{"hpa", "openfaas-ce", "openfaas-pro"} {
		t.Run(policy, func(t *testing.T) {
			p := start(t, Function{Name: "f", ContainerConcurrency: 1, Policy: policy})
			waitReady(t, p, "f", 1)
			if got := lambdaGet(t, p, ""); got.status != 200 || got.cold {
				t.Fatalf("first request %+v, want a warm 200 from the deployed replica", got)
			}
		})
	}
}
