#!/usr/bin/env bash
# The project's own parts, from the Kubernetes backend: the controller's and
# the metrics adapter's RBAC (deploy/controller, deploy/metrics-adapter, in
# the bench namespace), then deploy/kind: the controller with the activator
# in its process, the activator's NodePort and the adapter's APIService.
# shellcheck source=kind-config/lib.sh
. "$(dirname "$0")/lib.sh"
need kubectl sed
ns="${NAMESPACE:-scalebench-bench}"
step "scalebench controller, activator and metrics adapter in $ns (image tag $IMAGE_TAG)"
if [ "$DRY_RUN" = 1 ]; then
  printf '    kubectl create namespace %s --dry-run=client -o yaml | kubectl apply -f -\n' "$ns"
else
  kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
fi
for f in "$REPO_ROOT"/deploy/controller/rbac.yaml "$REPO_ROOT"/deploy/metrics-adapter/rbac.yaml "$REPO_ROOT"/deploy/kind/scalebench.yaml; do
  if [ "$DRY_RUN" = 1 ]; then
    printf '    sed namespace:scalebench->%s, :dev->:%s %s | kubectl apply -f -\n' "$ns" "$IMAGE_TAG" "$f"
  else
    sed -e "s/namespace: scalebench\$/namespace: $ns/" -e "s/namespace: scalebench-bench\$/namespace: $ns/" \
      -e "s|scalebench.dev/scalebench:dev|scalebench.dev/scalebench:$IMAGE_TAG|" "$f" | kubectl apply -f -
  fi
done
run kubectl -n "$ns" rollout status deployment/scalebench-controller --timeout 180s
run kubectl -n "$ns" rollout status deployment/scalebench-metrics-adapter --timeout 180s
