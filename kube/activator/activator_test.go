package activator

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

func slice(svc string, addrs ...string) *discoveryv1.EndpointSlice {
	name, ready := "http", true
	port := int32(0)
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-x", Namespace: "fns", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, a := range addrs {
		host, p, _ := net.SplitHostPort(a)
		n, _ := strconv.Atoi(p)
		port = int32(n)
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{host},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: "pod-" + p}})
	}
	s.Ports = []discoveryv1.EndpointPort{{Name: &name, Port: &port}}
	return s
}

// TestBuffersAtZeroPokesAndServesWhenEndpointsAppear: a request for a
// revision whose EndpointSlice is empty waits, the controller is poked, and
// the request is answered by the pod that the slice then lists.
func TestBuffersAtZeroPokesAndServesWhenEndpointsAppear(t *testing.T) {
	pod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "served "+r.URL.Path)
	}))
	defer pod.Close()
	var mu sync.Mutex
	var pokes []string
	ctrl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pokes = append(pokes, r.FormValue("revision")+" "+r.FormValue("demand"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ctrl.Close()
	standby := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not the leader", http.StatusServiceUnavailable)
	}))
	defer standby.Close()

	client := fake.NewClientset(slice("fn"))
	a, err := New(Config{Client: client, Namespace: "fns", Controllers: []string{ctrl.URL, standby.URL}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)
	cache.WaitForCacheSync(ctx.Done(), a.synced...)
	waitFor(t, func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.revs["fn"] != nil })
	front := httptest.NewServer(a)
	defer front.Close()

	if resp, err := http.Get(front.URL + "/fns/nope/"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown revision: %v %v, want 404", resp, err)
	}
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(front.URL + "/fns/fn/hello?work=1ms")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{body: string(b)}
	}()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(pokes) > 0 })
	select {
	case r := <-done:
		t.Fatalf("answered with no endpoints: %+v", r)
	default:
	}
	mu.Lock()
	if pokes[0] != "fns/fn 1" {
		t.Fatalf("poke %q, want revision fns/fn demand 1", pokes[0])
	}
	mu.Unlock()

	// The pod becomes ready: the endpointslice controller lists it.
	s := slice("fn", pod.Listener.Addr().String())
	if _, err := client.DiscoveryV1().EndpointSlices("fns").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.body != "served /hello" {
			t.Fatalf("buffered request: %+v, want served /hello", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("buffered request not answered after the endpoint appeared")
	}
	if got := a.Endpoints("fn"); len(got) != 1 || got[0] != pod.Listener.Addr().String() {
		t.Fatalf("endpoints %v", got)
	}
	// And leaves again.
	client.DiscoveryV1().EndpointSlices("fns").Update(ctx, slice("fn"), metav1.UpdateOptions{})
	waitFor(t, func() bool { return len(a.Endpoints("fn")) == 0 })
}

func TestNewRejectsBadControllerURL(t *testing.T) {
	if _, err := New(Config{Client: fake.NewClientset(), Namespace: "fns", Controllers: []string{"127.0.0.1:9095"}}); err == nil {
		t.Fatal("a controller URL without a scheme must be refused")
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
