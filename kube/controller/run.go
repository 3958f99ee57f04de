package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
)

// LoadConfig is the client configuration from a kubeconfig file: path,
// else $KUBECONFIG, else the in-cluster service account.
func LoadConfig(path string) (*rest.Config, error) {
	if path == "" {
		path = os.Getenv("KUBECONFIG")
	}
	if path == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no --kubeconfig, no KUBECONFIG and not in a cluster: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// AddrError is a listen address that is not a loopback host:port.
type AddrError struct{ Addr string }

func (e AddrError) Error() string {
	return fmt.Sprintf("--addr: want a loopback host:port such as 127.0.0.1:9095, got %q", e.Addr)
}

// ServeConfig is a whole controller process.
type ServeConfig struct {
	Controller Config
	// Addr is where /healthz, /metrics and /poke listen; loopback only.
	Addr string
	// Election, when its Name is set, makes this replica campaign for the
	// Lease and autoscale only while it leads.
	Election LeaderElection
	// OnListen, when not nil, gets the bound address.
	OnListen func(addr string)
}

// Serve runs a controller process until ctx ends: the HTTP server at once,
// the controller while leading (or always, without an election). It
// returns nil after a graceful stop and ErrLostLeadership when the Lease
// was lost.
func Serve(ctx context.Context, sc ServeConfig) error {
	host, _, err := net.SplitHostPort(sc.Addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return AddrError{Addr: sc.Addr}
	}
	if sc.Controller.Client == nil {
		return errors.New("controller: no Kubernetes client")
	}
	log := sc.Controller.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		sc.Controller.Log = log
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sc.Controller.Registerer = reg
	var health func(*http.Request) error
	elect := sc.Election.Name != ""
	if elect {
		watchdog := leaderelection.NewLeaderHealthzAdaptor(20 * time.Second)
		sc.Election.Watchdog = watchdog
		sc.Election.Registerer = reg
		sc.Election.Log = log
		health = watchdog.Check
	}
	srv := NewServer(reg, health)
	ln, err := net.Listen("tcp", sc.Addr)
	if err != nil {
		return fmt.Errorf("controller: listen: %w", err)
	}
	if sc.OnListen != nil {
		sc.OnListen(ln.Addr().String())
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		hs.Serve(ln)
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		<-served
	}()
	log.Info("serving /healthz, /metrics and /poke", "addr", ln.Addr().String())

	// One controller for the process: its metrics are registered once, and
	// a replica that loses the Lease exits rather than leading again.
	c, err := New(sc.Controller)
	if err != nil {
		return err
	}
	lead := func(ctx context.Context) {
		srv.Set(c)
		defer srv.Set(nil)
		c.Run(ctx)
	}
	if !elect {
		lead(ctx)
		return nil
	}
	return RunWithLeaderElection(ctx, sc.Controller.Client, sc.Election, lead)
}

// NewClient is a clientset for cfg with a user agent naming the component.
func NewClient(cfg *rest.Config, component string) (kubernetes.Interface, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "scalebench-" + component
	// Scaling 1,000 revisions must not queue behind client-go's default
	// 5 requests per second.
	cfg.QPS, cfg.Burst = 100, 200
	return kubernetes.NewForConfig(cfg)
}
