package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaderElection configures the Lease the replicas compete for.
type LeaderElection struct {
	Namespace, Name string
	// Identity names this replica in the Lease's holderIdentity.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's; a
	// killed leader is replaced within about LeaseDuration. Defaults 15 s,
	// 10 s and 2 s, kube-controller-manager's.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Registerer receives scalebench_controller_leader; nil registers none.
	Registerer prometheus.Registerer
	Log        *slog.Logger
	// Watchdog, when not nil, is given the elector's health check (it
	// fails when the leader could not renew) for /healthz.
	Watchdog *leaderelection.HealthzAdaptor
}

// ErrLostLeadership is what RunWithLeaderElection returns when this replica
// stopped being the leader before ctx ended: the process should exit and be
// restarted as a standby, as kube-controller-manager does, rather than risk
// two replicas scaling.
var ErrLostLeadership = errors.New("lost the leader lease")

// RunWithLeaderElection campaigns for the Lease and calls lead while this
// replica holds it. It returns nil when ctx ends (releasing the Lease so a
// standby takes over at once) and ErrLostLeadership when the Lease was lost.
func RunWithLeaderElection(ctx context.Context, client kubernetes.Interface, le LeaderElection, lead func(ctx context.Context)) error {
	if le.Name == "" || le.Namespace == "" || le.Identity == "" {
		return errors.New("leader election: want a lease namespace, name and identity")
	}
	if le.LeaseDuration <= 0 {
		le.LeaseDuration = 15 * time.Second
	}
	if le.RenewDeadline <= 0 {
		le.RenewDeadline = 10 * time.Second
	}
	if le.RetryPeriod <= 0 {
		le.RetryPeriod = 2 * time.Second
	}
	if le.Log == nil {
		le.Log = slog.New(slog.DiscardHandler)
	}
	leader := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "scalebench", Subsystem: "controller", Name: "leader",
		Help: "1 while this replica holds the leader Lease.",
	})
	if le.Registerer != nil {
		if err := le.Registerer.Register(leader); err != nil {
			return fmt.Errorf("leader election: register metrics: %w", err)
		}
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: le.Namespace, Name: le.Name},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: le.Identity},
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := false
	// The elector would run lead in a goroutine and return without
	// waiting for it; lead runs here instead, so a graceful stop returns
	// only after the controller has stopped scaling.
	leading := make(chan context.Context, 1)
	cfg := leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   le.LeaseDuration,
		RenewDeadline:   le.RenewDeadline,
		RetryPeriod:     le.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            le.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				leader.Set(1)
				le.Log.Info("leading", "lease", le.Namespace+"/"+le.Name, "identity", le.Identity)
				leading <- ctx
			},
			OnStoppedLeading: func() {
				leader.Set(0)
				if ctx.Err() == nil {
					lost = true
					le.Log.Error("lost the leader lease", "lease", le.Namespace+"/"+le.Name, "identity", le.Identity)
				}
				cancel()
			},
			OnNewLeader: func(id string) {
				if id != le.Identity {
					le.Log.Info("standing by", "leader", id)
				}
			},
		},
	}
	if le.Watchdog != nil {
		cfg.WatchDog = le.Watchdog
	}
	elector, err := leaderelection.NewLeaderElector(cfg)
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		elector.Run(ctx)
	}()
	select {
	case lctx := <-leading:
		// lctx ends when the Lease is lost or ctx ends.
		lead(lctx)
		cancel() // lead may have returned on its own: give the Lease up
		<-ran
	case <-ran:
	}
	if lost {
		return ErrLostLeadership
	}
	return nil
}
