#!/usr/bin/env bash
# make kind-bench SCENARIO=FILE: one scenario's traffic, from scalebench's
# load generator, through each platform's own front door in turn: a Knative
# Service (Kourier), an OpenFaaS CE function (its gateway), a Deployment
# under the HPA (its Service) and one under scalebench's controller (the
# activator). Pods are counted from the API, cold starts from the requests;
# the report is the bench's, with the backend named kind in every row.
#
# A function with revisions runs on Knative and scalebench's controller only
# (the HPA and OpenFaaS have no traffic split), its stages applied over time
# (run_staged; ROLLOUT=NAME picks rollout variants, MATCH_PODS=N their
# pre-scaling), one bench output per policy under OUT.
#
# IMAGE=REF runs the user's own function image in every target instead of
# the project's cmd/fn: any HTTP server that listens on $PORT (PORT, default
# 8080) and answers its readiness probe (READINESS: tcp, the default, or a
# path such as /healthz). An image the local engine has is loaded into the
# nodes; any other is pulled by them.
# shellcheck source=kind-config/lib.sh
. "$(dirname "$0")/lib.sh"
need kubectl curl base64 awk

# run_staged DIR TARGET POLICY: one target of a function with revisions.
# Its stages at 0 go first; the bench's traffic starts; the route's
# schedule is stamped with that moment and the later stages are applied at
# their times from it; then the target's objects are removed, so the next
# target has the nodes alone.
# sleep_until START AT: sleeps until AT seconds (a decimal) after START
# (microseconds since the epoch); returns at once if that has passed.
sleep_until() {
  local left
  left="$(awk -v s="$1" -v at="$2" -v now="$(date +%s%6N)" 'BEGIN { l = (s - now) / 1e6 + at; if (l > 0) printf "%.3f", l }')"
  if [ -n "$left" ]; then sleep "$left"; fi
}

run_staged() {
  local dir="$1" target="$2" label="$3" t at wait file what
  local later=() files=() log pid start
  while IFS=$'\t' read -r t at wait file what; do
    case "$t" in '#'* | '') continue ;; esac
    [ "$t" = "$target" ] || continue
    files+=("$dir/$file")
    if [ "$at" = 0 ]; then
      step "$target at 0s: $what"
      kubectl apply -f "$dir/$file"
      if [ "$wait" != - ]; then
        kubectl -n "$NAMESPACE" wait "revisions.serving.knative.dev/$wait" --for condition=Ready --timeout 300s
      fi
    else
      later+=("$at"$'\t'"$dir/$file"$'\t'"$what")
    fi
  done <"$dir/stages.tsv"
  if [ "$target" != knative ]; then
    kubectl -n "$NAMESPACE" wait deployment -l scalebench.dev/target="$target" --for condition=Available --timeout 300s
  fi
  log="$OUT/${label//\//-}.log"
  mkdir -p "$OUT"
  step "traffic to $target under $label, stages at their times"
  "$SCALEBENCH" bench --backend kind --suite "$SCENARIO" --kind-namespace "$NAMESPACE" \
    --real 1 --real-scenarios "" --real-policies "$label" --real-duration 0 --out "$OUT/${label//\//-}" 2>"$log" &
  pid=$!
  # The bench simulates the scenario first; its traffic starts when it
  # says "real kind SCENARIO/POLICY (".
  until grep -qF "/$label (" "$log" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
  done
  if grep -qF "/$label (" "$log"; then
    # Microseconds: whole seconds put a stage up to 1 s early.
    start="$(date +%s%6N)"
    if [ "$target" = scalebench ]; then
      kubectl -n "$NAMESPACE" annotate --overwrite configmap -l scalebench.dev/route "scalebench.dev/route-start=$(date -u -d "@${start:0:-6}.${start: -6}" +%Y-%m-%dT%H:%M:%S.%6NZ)"
    fi
    local item
    for item in ${later[@]+"${later[@]}"}; do
      IFS=$'\t' read -r at file what <<<"$item"
      sleep_until "$start" "$at"
      step "$target at ${at}s: $what"
      kubectl apply -f "$file"
    done
  fi
  local status=0
  wait "$pid" || status=$?
  cat "$log" >&2
  # Foreground: a Knative Service's Revisions are gone before the next
  # variant makes Revisions of the same names.
  for file in "${files[@]}"; do
    kubectl delete --ignore-not-found --cascade=foreground -f "$file"
  done
  return "$status"
}

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

# A function with revisions is a schedule: kind manifests writes it as
# stages (stages.tsv), applied here at their times from the start of each
# target's traffic, one target and one rollout variant at a time.
staged=0
if [ "$DRY_RUN" = 1 ]; then
  if grep -Eq '^[[:space:]]+revisions:' "$SCENARIO"; then staged=1; fi
elif [ -f "$manifests/stages.tsv" ]; then
  staged=1
fi
if [ "$staged" = 1 ]; then
  # ROLLOUT=NAME[,NAME] runs only those of the scenario's rollouts:
  # variants (default: every one, or the scenario's own split when it has
  # none). MATCH_PODS=N is the old revision's pods at the switch, for a
  # variant that pre-scales to match them.
  variants=()
  if [ -n "${ROLLOUT:-}" ]; then
    IFS=, read -ra variants <<<"$ROLLOUT"
  elif [ "$DRY_RUN" != 1 ]; then
    mapfile -t variants <"$manifests/rollouts.txt"
  fi
  [ "${#variants[@]}" -gt 0 ] || variants=("")
  for variant in "${variants[@]}"; do
    dir="$manifests"
    if [ -n "$variant" ]; then
      dir="$manifests.$variant"
      step "rollout $variant: render its stages into $dir"
      if ! run "$SCALEBENCH" kind manifests --scenario "$SCENARIO" --namespace "$NAMESPACE" "${images[@]}" \
        --rollout "$variant" --match-pods "${MATCH_PODS:-0}" --out "$dir" --force; then
        echo "    rollout $variant skipped (see above)" >&2
        continue
      fi
    fi
    run kubectl apply -f "$dir/targets.yaml"
    if [ "$DRY_RUN" = 1 ]; then
      printf '    for each target and policy of %s/runs.tsv (knative, and kpa when the scenario lists it):
' "$dir"
      printf '      kubectl apply each of its stages at 0s (waiting for each Knative Revision to be Ready)
'
      printf '      %s bench --backend kind ... --real-policies POLICY --out %s/POLICY &
' "$SCALEBENCH" "$OUT"
      printf '      once its traffic starts: kubectl annotate configmap -l scalebench.dev/route scalebench.dev/route-start=NOW,
'
      printf '      then kubectl apply each later stage at its time; wait; kubectl delete its stages
'
      continue
    fi
    while IFS=$'\t' read -r target label; do
      case "$target" in '#'* | '') continue ;; esac
      run_staged "$dir" "$target" "$label"
    done <"$dir/runs.tsv"
  done
  step "reports: $OUT/*/report.html"
  exit 0
fi

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
