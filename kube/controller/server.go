package controller

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the controller process's HTTP face: /healthz, /metrics and
// /poke. It outlives the Controller (a standby replica serves it too), so
// it reaches the running one through Set.
type Server struct {
	gatherer prometheus.Gatherer
	ctrl     atomic.Pointer[Controller]
	health   func(*http.Request) error
}

// NewServer serves the metrics of g; health, when not nil, is an extra
// liveness check (the leader election's renewal).
func NewServer(g prometheus.Gatherer, health func(*http.Request) error) *Server {
	return &Server{gatherer: g, health: health}
}

// Set makes c the controller pokes go to; nil while standing by.
func (s *Server) Set(c *Controller) { s.ctrl.Store(c) }

// Handler is the server's mux.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if s.health != nil {
			if err := s.health(r); err != nil {
				http.Error(w, "unhealthy: "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("POST /poke", s.poke)
	return mux
}

// poke takes revision=NAMESPACE/NAME and demand=N (in-flight plus waiting
// requests). A standby replica answers 503 so the activator knows the poke
// went nowhere; an unknown revision is 404.
func (s *Server) poke(w http.ResponseWriter, r *http.Request) {
	rev := r.FormValue("revision")
	demand, err := strconv.ParseFloat(r.FormValue("demand"), 64)
	if rev == "" || err != nil || demand < 0 {
		http.Error(w, "poke: want revision=NAMESPACE/NAME and demand=N (a non-negative number)", http.StatusBadRequest)
		return
	}
	c := s.ctrl.Load()
	if c == nil {
		http.Error(w, "poke: this replica is not the leader", http.StatusServiceUnavailable)
		return
	}
	if !c.Poke(rev, demand) {
		http.Error(w, "poke: "+rev+" is not an opted-in Deployment", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
