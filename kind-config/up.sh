#!/usr/bin/env bash
# Creates the kind cluster (once) and installs everything kind-bench needs.
# Idempotent: run it again to finish or repair an installation.
# shellcheck source=kind-config/lib.sh
. "$(dirname "$0")/lib.sh"
need_engine
need kind kubectl helm

step "kind cluster $CLUSTER_NAME ($KIND_NODE_IMAGE)"
if [ "$DRY_RUN" != 1 ] && kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  echo "    exists"
else
  run kind create cluster --name "$CLUSTER_NAME" --image "$KIND_NODE_IMAGE" --config "$KIND_CONFIG_DIR/cluster.yaml" --wait 120s
fi
run kubectl config use-context "kind-$CLUSTER_NAME"

"$KIND_CONFIG_DIR/images.sh"
"$KIND_CONFIG_DIR/install-metrics-server.sh"
"$KIND_CONFIG_DIR/install-prometheus.sh"
"$KIND_CONFIG_DIR/install-knative.sh"
"$KIND_CONFIG_DIR/install-openfaas.sh"
"$KIND_CONFIG_DIR/install-scalebench.sh"
step "cluster ready: kubectl --context kind-$CLUSTER_NAME get pods -A"
