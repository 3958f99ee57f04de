#!/usr/bin/env bash
# Deletes the kind cluster and everything in it.
# shellcheck source=kind-config/lib.sh
. "$(dirname "$0")/lib.sh"
need kind
step "delete kind cluster $CLUSTER_NAME"
if [ "$DRY_RUN" = 1 ] || kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  run kind delete cluster --name "$CLUSTER_NAME"
else
  echo "    no cluster named $CLUSTER_NAME"
fi
