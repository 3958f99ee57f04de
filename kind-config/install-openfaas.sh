#!/usr/bin/env bash
# OpenFaaS Community Edition from its pinned Helm chart. The gateway is a
# NodePort on $OPENFAAS_PORT (127.0.0.1 on the host); functions are deployed
# through its REST API (CE has no Function CRD operator).
# shellcheck source=kind-config/lib.sh
. "$(dirname "$0")/lib.sh"
need kubectl helm
step "OpenFaaS CE, chart openfaas/openfaas $OPENFAAS_CHART_VERSION"
run kubectl apply -f "https://raw.githubusercontent.com/openfaas/faas-netes/master/namespaces.yml"
run helm repo add openfaas https://openfaas.github.io/faas-netes/ --force-update
run helm upgrade openfaas openfaas/openfaas --install --version "$OPENFAAS_CHART_VERSION" \
  --namespace openfaas --set functionNamespace=openfaas-fn --set generateBasicAuth=true \
  --set serviceType=NodePort --set gateway.nodePort="$OPENFAAS_PORT" \
  --set openfaasImagePullPolicy=IfNotPresent --wait --timeout 5m
