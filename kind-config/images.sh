#!/usr/bin/env bash
# Builds the project's images (static binaries, non-root) and loads them into
# the kind nodes, so no registry is involved.
# shellcheck source=kind-config/lib.sh
. "$(dirname "$0")/lib.sh"
need_engine
need kind
for target in fn fn-openfaas scalebench; do
  image="scalebench.dev/$target:$IMAGE_TAG"
  step "image $image"
  run docker build --target "$target" -t "$image" -f "$KIND_CONFIG_DIR/Dockerfile" "$REPO_ROOT"
  run kind load docker-image --name "$CLUSTER_NAME" "$image"
done
