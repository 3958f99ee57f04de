#!/usr/bin/env bash
# make kind-bench SCENARIO=FILE: one scenario's traffic, from scalebench's
# load generator, through each platform's own front door in turn: a Knative
# Service (Kourier), an OpenFaaS CE function (its gateway), a Deployment
# under the HPA (its Service) and one under scalebench's controller (the
# activator). Pods are counted from the API, cold starts from the requests;
# the report is the bench's, with the backend named kind in every row.
# shellcheck source=kind-config/lib.sh
. "$(dirname "$0")/lib.sh"
need kubectl curl base64

SCENARIO="${SCENARIO:?set SCENARIO to a scenario file, e.g. SCENARIO=scenarios/library/spike.yaml}"
if [ ! -f "$SCENARIO" ]; then
  echo "kind-config: SCENARIO=$SCENARIO: no such file" >&2
  exit 2
fi
name="$(basename "$SCENARIO" .yaml)"
OUT="${OUT:-out/kind-bench/$name}"
NAMESPACE="${NAMESPACE:-scalebench-bench}"
SCALEBENCH="${SCALEBENCH:-$REPO_ROOT/bin/scalebench}"
manifests="$OUT.manifests"

step "render the four targets of $SCENARIO into $manifests"
run "$SCALEBENCH" kind manifests --scenario "$SCENARIO" --namespace "$NAMESPACE" --image "scalebench.dev/fn:$IMAGE_TAG" --openfaas-image "scalebench.dev/fn-openfaas:$IMAGE_TAG" --out "$manifests"

step "Knative Service, HPA and scalebench Deployments (kubectl apply)"
run kubectl apply -f "$manifests/targets.yaml"
run kubectl -n "$NAMESPACE" wait ksvc --all --for condition=Ready --timeout 300s
run kubectl -n "$NAMESPACE" wait deployment --all --for condition=Available --timeout 300s

step "OpenFaaS CE function (the gateway's REST API on 127.0.0.1:$OPENFAAS_PORT)"
gateway="http://127.0.0.1:$OPENFAAS_PORT"
if [ "$DRY_RUN" = 1 ]; then
  # shellcheck disable=SC2016 # printed, not run
  printf '    password=$(kubectl -n openfaas get secret basic-auth -o jsonpath={.data.basic-auth-password} | base64 -d)\n'
  # shellcheck disable=SC2016 # printed, not run
  printf '    curl -fsS -u admin:$password -X PUT %s/system/functions --data-binary @%s || curl ... -X POST\n' "$gateway" "$manifests/openfaas.json"
else
  password="$(kubectl -n openfaas get secret basic-auth -o jsonpath='{.data.basic-auth-password}' | base64 -d)"
  curl -fsS -u "admin:$password" -X PUT "$gateway/system/functions" --data-binary "@$manifests/openfaas.json" ||
    curl -fsS -u "admin:$password" -X POST "$gateway/system/functions" --data-binary "@$manifests/openfaas.json"
fi

step "traffic to each target in turn, pods from the API, one report"
run "$SCALEBENCH" bench --backend kind --suite "$SCENARIO" --kind-namespace "$NAMESPACE" \
  --real 1 --real-scenarios "" --real-policies knative,openfaas-ce,hpa,kpa --real-duration 0 --out "$OUT"
step "report: $OUT/report.html"
