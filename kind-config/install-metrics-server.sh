#!/usr/bin/env bash
# metrics-server, pinned; kind's kubelets serve self-signed certificates, so
# it is told not to verify them.
# shellcheck source=kind-config/lib.sh
. "$(dirname "$0")/lib.sh"
need kubectl
step "metrics-server $METRICS_SERVER_VERSION"
run kubectl apply -f "https://github.com/kubernetes-sigs/metrics-server/releases/download/$METRICS_SERVER_VERSION/components.yaml"
run kubectl -n kube-system patch deployment metrics-server --type json \
  -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'
run kubectl -n kube-system rollout status deployment/metrics-server --timeout 180s
