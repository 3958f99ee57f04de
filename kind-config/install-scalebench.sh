#!/usr/bin/env bash
# The project's own parts, from the Kubernetes backend: RBAC, the controller,
# the activator and the custom-metrics adapter with its APIService.
# shellcheck source=kind-config/lib.sh
. "$(dirname "$0")/lib.sh"
need kubectl
step "scalebench controller, activator and metrics adapter (image tag $IMAGE_TAG)"
for f in "$REPO_ROOT"/deploy/*.yaml; do
  run kubectl apply -f "$f"
done
run kubectl -n scalebench-system rollout status deployment --timeout 180s
