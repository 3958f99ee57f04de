package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestProbePath(t *testing.T) {
	var hits [2]atomic.Int64
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits[0].Add(1) }))
	defer direct.Close()
	proxied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits[1].Add(1)
		time.Sleep(2 * time.Millisecond)
	}))
	defer proxied.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer broken.Close()

	t.Run("alternates after a warm-up", func(t *testing.T) {
		d, p, err := ProbePath(context.Background(), direct.URL+"/", proxied.URL+"/", 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(d) != 5 || len(p) != 5 {
			t.Fatalf("got %d direct and %d proxied samples, want 5 each", len(d), len(p))
		}
		if hits[0].Load() != 6 || hits[1].Load() != 6 {
			t.Errorf("servers saw %d and %d requests, want 6 each (a warm-up and 5)", hits[0].Load(), hits[1].Load())
		}
		for i := range p {
			if p[i] < 2*time.Millisecond {
				t.Errorf("proxied sample %d took %v, less than the server's 2ms", i, p[i])
			}
		}
	})
	t.Run("a non-200 answer is an error naming the URL", func(t *testing.T) {
		_, _, err := ProbePath(context.Background(), direct.URL+"/", broken.URL+"/x", 3)
		if err == nil || !strings.Contains(err.Error(), broken.URL+"/x") || !strings.Contains(err.Error(), "502") {
			t.Fatalf("err = %v, want the URL and status 502", err)
		}
	})
}
