#!/usr/bin/env bash
# make kind-bench SCENARIO=FILE: one scenario's traffic, from scalebench's
# load generator, through each platform's own front door in turn: a Knative
# Service (Kourier), an OpenFaaS CE function (its gateway), a Deployment
# under the HPA (its Service) and one under scalebench's controller (the
# activator). Pods are counted from the API, cold starts from the requests;
# the report is the bench's, with the backend named kind in every row.
#
# IMAGE=REF runs the user's own function image in every target instead of
# the project's cmd/fn: any HTTP server that listens on $PORT (PORT, default
# 8080) and answers its readiness probe (READINESS: tcp, the default, or a
# path such as /healthz). An image the local engine has is loaded into the
# nodes; any other is pulled by them.
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
IMAGE="${IMAGE:-}"
images=(--fn-image "scalebench.dev/fn:$IMAGE_TAG" --openfaas-image "scalebench.dev/fn-openfaas:$IMAGE_TAG" --queue-proxy-image "scalebench.dev/scalebench:$IMAGE_TAG")
if [ -n "$IMAGE" ]; then
  # PORT and READINESS describe IMAGE; without it they are not read (PORT
  # is a common variable to find set for something else).
  images+=(--image "$IMAGE" --port "${PORT:-8080}" --readiness "${READINESS:-tcp}")
fi

step "render the four targets of $SCENARIO into $manifests"
run "$SCALEBENCH" kind manifests --scenario "$SCENARIO" --namespace "$NAMESPACE" "${images[@]}" --out "$manifests"

if [ -n "$IMAGE" ]; then
  step "the function image $IMAGE into the kind nodes"
  if [ "$DRY_RUN" = 1 ]; then
    printf '    kind load docker-image --name %s %s (when the local engine has it; otherwise the nodes pull it)\n' "$CLUSTER_NAME" "$IMAGE"
  elif command -v docker >/dev/null 2>&1 && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    need kind
    kind load docker-image --name "$CLUSTER_NAME" "$IMAGE"
  else
    echo "    not in a local engine: the nodes pull it from its registry"
  fi
fi

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
