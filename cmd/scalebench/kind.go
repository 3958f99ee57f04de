package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/badinput"

	"github.com/scalebench/scalebench/kube/targets"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

// newKindCmd groups what `make kind-bench` calls (kind-config/bench.sh).
func newKindCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kind",
		Short: "Manifests for comparing Knative, OpenFaaS, the HPA and scalebench on a kind cluster",
	}
	cmd.AddCommand(newKindManifestsCmd())
	return cmd
}

func newKindManifestsCmd() *cobra.Command {
	var (
		scenario, function, out string
		force                   bool
		opt                     = targets.DefaultOptions()
		port                    int32
		readiness, rollout      string
	)
	cmd := &cobra.Command{
		Use:   "manifests --scenario FILE [--function NAME] --out DIR",
		Short: "Render one function's four kind targets: DIR/targets.yaml, DIR/openfaas.json, DIR/notes.md",
		Long: `manifests renders, for one function of a scenario, the four targets a kind
run compares on the same image and traffic: a Knative Service, an OpenFaaS CE
function, a Deployment under an autoscaling/v2 HPA on the metrics adapter's
per-pod concurrency, and a Deployment under scalebench's controller. Each peer
gets the scenario's settings for its policy by its own names (Knative
annotations, com.openfaas.scale labels, spec.behavior); notes.md says how, and
which settings a peer cannot take per function.

With --image the targets run the user's own function image instead of the
project's cmd/fn, under the local platform's contract: any HTTP server that
listens on $PORT (--port) and answers its readiness probe (--readiness). The
Knative Service takes it as a user container (containerPort, Knative sets
$PORT); OpenFaaS as a workload on port 8080 (of-watchdog in HTTP mode, or a
server listening on $PORT=8080); the HPA and scalebench Deployments with
scalebench's queue-proxy as a sidecar in front of it (--queue-proxy-image).

A function with revisions is a schedule, so it is written as stages
(DIR/stages.tsv, DIR/stages/*.yaml) that kind-config/bench.sh applies at
their times: a Knative Service generation per revision (the template's
metadata.name names the Revision) and per split step (spec.traffic,
serving.knative.dev/rollout-duration), and for scalebench's controller a
Deployment per revision and the activator's route ConfigMap. The HPA and
OpenFaaS CE have no traffic split and are not rendered. --rollout NAME makes
the rollout one of the scenario's rollouts: variants.`,
		Example: `  scalebench kind manifests --scenario scenarios/library/spike.yaml --out out/kind-spike
  scalebench kind manifests --scenario scenarios/library/spike.yaml --image registry.example.com/me/fn:v2 --port 8080 --readiness /healthz --out out/kind-mine`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if scenario == "" || out == "" {
				return badinput.Wrap(errors.New("kind manifests: --scenario FILE and --out DIR are required"))
			}
			if err := kindFunction(cmd, &opt, port, readiness); err != nil {
				return badinput.Wrap(err)
			}
			sc, err := scenarios.Load(scenario)
			if err != nil {
				return badinput.Wrap(err)
			}
			fn := 0
			if function != "" {
				fn = -1
				for i, f := range sc.Functions {
					if f.Name == function {
						fn = i
					}
				}
				if fn < 0 {
					return badinput.Wrap(fmt.Errorf("kind manifests: %s has no function %q", scenario, function))
				}
			}
			if rollout != "" {
				for i := range sc.Rollouts {
					if sc.Rollouts[i].Name == rollout {
						opt.Rollout = &sc.Rollouts[i]
					}
				}
				if opt.Rollout == nil {
					var names []string
					for _, r := range sc.Rollouts {
						names = append(names, r.Name)
					}
					return badinput.Wrap(fmt.Errorf("kind manifests: --rollout %q: %s has rollouts %q", rollout, scenario, names))
				}
			}
			if opt.MatchPods < 0 {
				return badinput.Wrap(fmt.Errorf("kind manifests: --match-pods %d: want a pod count", opt.MatchPods))
			}
			set, err := targets.Render(sc, fn, opt)
			if err != nil {
				return badinput.Wrap(fmt.Errorf("%s: %w", scenario, err))
			}
			for _, t := range []string{targets.OpenFaaS, targets.HPA} {
				if why := set.Refused[t]; why != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "kind manifests: %s: not rendered: %s\n", scenario, why)
				}
			}
			err = set.WriteDir(out, results.Force(force), results.LogTo(os.Stderr))
			if errors.Is(err, results.ErrNotOutput) {
				return badinput.Wrap(err)
			}
			if err != nil {
				return err
			}
			files := "targets.yaml, openfaas.json, notes.md"
			if len(set.Stages) > 0 {
				files = "targets.yaml, stages.tsv, stages/, notes.md"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", out, files)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenario, "scenario", "", "scenario YAML file")
	f.StringVar(&function, "function", "", "the scenario's function to render (default: the first)")
	f.StringVar(&out, "out", "", "output directory (written atomically)")
	f.BoolVar(&force, "force", false, "replace --out even if it is not a previous scalebench output")
	f.StringVar(&opt.Namespace, "namespace", opt.Namespace, "namespace of the Knative Service and the Deployments")
	f.StringVar(&opt.Function.Image, "image", "", "the user's function image: an HTTP server listening on $PORT (default: the project's cmd/fn, --fn-image)")
	f.Int32Var(&port, "port", 8080, "--image's port, given to it in $PORT")
	f.StringVar(&readiness, "readiness", "tcp", "--image's readiness probe: tcp, /PATH or http:/PATH")
	f.StringVar(&opt.QueueProxyImage, "queue-proxy-image", opt.QueueProxyImage, "scalebench's image, whose queue-proxy runs beside --image in the HPA and scalebench targets")
	f.StringVar(&opt.FnImage, "fn-image", opt.FnImage, "the project's function image (cmd/fn with scalebench beside it), when no --image is given")
	f.StringVar(&opt.OpenFaaSImage, "openfaas-image", opt.OpenFaaSImage, "the project's function image with the queue-proxy as entrypoint, for OpenFaaS, when no --image is given")
	f.StringVar(&rollout, "rollout", "", "for a function with revisions: make its rollout the scenario's rollouts: entry NAME (instant, gradual-5m, prescaled, ...)")
	f.IntVar(&opt.MatchPods, "match-pods", 0, "the old revision's pods at the rollout, for a --rollout that pre-scales to match them (initialScale: match)")
	f.Int32Var(&opt.HPANodePort, "hpa-node-port", opt.HPANodePort, "NodePort of the HPA target's Service")
	return cmd
}

// kindFunction reads --image, --port and --readiness into opt.
func kindFunction(cmd *cobra.Command, opt *targets.Options, port int32, readiness string) error {
	f := cmd.Flags()
	if opt.Function.Image == "" {
		if f.Changed("port") || f.Changed("readiness") {
			return errors.New("kind manifests: --port and --readiness describe the user's image; give --image too")
		}
		return nil
	}
	if port < 1 || port > 65535 {
		return fmt.Errorf("kind manifests: --port %d: want 1 to 65535", port)
	}
	opt.Function.Port = port
	spec := readiness
	if strings.HasPrefix(spec, "/") {
		spec = "http:" + spec
	}
	path, err := scenarios.ParseReadiness(spec)
	if err != nil {
		return fmt.Errorf("kind manifests: --readiness: want tcp, /PATH or http:/PATH such as /healthz, got %q", readiness)
	}
	opt.Function.ReadinessPath = path
	if err := opt.Function.Check(); err != nil {
		return fmt.Errorf("kind manifests: %w", err)
	}
	return nil
}
