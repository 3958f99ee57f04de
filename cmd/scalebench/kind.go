package main

import (
	"errors"
	"fmt"
	"os"

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
which settings a peer cannot take per function.`,
		Example: `  scalebench kind manifests --scenario scenarios/library/spike.yaml --out out/kind-spike`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if scenario == "" || out == "" {
				return badinput.Wrap(errors.New("kind manifests: --scenario FILE and --out DIR are required"))
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
			set, err := targets.Render(sc, fn, opt)
			if err != nil {
				return badinput.Wrap(fmt.Errorf("%s: %w", scenario, err))
			}
			err = set.WriteDir(out, results.Force(force), results.LogTo(os.Stderr))
			if errors.Is(err, results.ErrNotOutput) {
				return badinput.Wrap(err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: targets.yaml, openfaas.json, notes.md\n", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenario, "scenario", "", "scenario YAML file")
	f.StringVar(&function, "function", "", "the scenario's function to render (default: the first)")
	f.StringVar(&out, "out", "", "output directory (written atomically)")
	f.BoolVar(&force, "force", false, "replace --out even if it is not a previous scalebench output")
	f.StringVar(&opt.Namespace, "namespace", opt.Namespace, "namespace of the Knative Service and the Deployments")
	f.StringVar(&opt.FnImage, "image", opt.FnImage, "the function image")
	f.StringVar(&opt.OpenFaaSImage, "openfaas-image", opt.OpenFaaSImage, "the function image with the queue-proxy as entrypoint, for OpenFaaS")
	f.Int32Var(&opt.HPANodePort, "hpa-node-port", opt.HPANodePort, "NodePort of the HPA target's Service")
	return cmd
}
