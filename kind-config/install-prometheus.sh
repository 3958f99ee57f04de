#!/usr/bin/env bash
# Prometheus from plain manifests (prometheus.yaml): scrapes every pod that
# carries prometheus.io/scrape, which the queue-proxies and the controller do.
# shellcheck source=kind-config/lib.sh
. "$(dirname "$0")/lib.sh"
need kubectl
step "prometheus ($PROMETHEUS_IMAGE)"
if [ "$DRY_RUN" = 1 ]; then
  printf '    sed s|PROMETHEUS_IMAGE|%s| %s | kubectl apply -f -\n' "$PROMETHEUS_IMAGE" "$KIND_CONFIG_DIR/prometheus.yaml"
else
  sed "s|PROMETHEUS_IMAGE|$PROMETHEUS_IMAGE|" "$KIND_CONFIG_DIR/prometheus.yaml" | kubectl apply -f -
fi
run kubectl -n monitoring rollout status deployment/prometheus --timeout 180s
