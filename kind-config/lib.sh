#!/usr/bin/env bash
# Shared by the kind-config scripts: pinned versions, prerequisite checks and
# DRY_RUN=1, which prints every step instead of taking it.
set -euo pipefail

KIND_CONFIG_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Used by the scripts that source this file.
# shellcheck disable=SC2034
REPO_ROOT="$(cd "$KIND_CONFIG_DIR/.." && pwd)"
# shellcheck source=kind-config/versions.env
. "$KIND_CONFIG_DIR/versions.env"

CLUSTER_NAME="${CLUSTER_NAME:-scalebench}"
DRY_RUN="${DRY_RUN:-0}"
IMAGE_TAG="${IMAGE_TAG:-dev}"
export KUBECONFIG="${KUBECONFIG:-$HOME/.kube/config}"

# step names what comes next.
step() { printf '==> %s\n' "$*"; }

# run takes a step, or prints it under DRY_RUN=1.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '    %s\n' "$*"
  else
    "$@"
  fi
}

# need fails early, naming the missing tool. Under DRY_RUN=1 it only warns,
# so the steps can be read on a machine without the tools.
need() {
  local tool missing=0
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      if [ "$DRY_RUN" = 1 ]; then
        printf '    (needs %s, not found here)\n' "$tool"
      else
        printf 'kind-config: %s is required but not installed; see docs/readme-kind.md for the versions tried\n' "$tool" >&2
        missing=1
      fi
    fi
  done
  if [ "$missing" = 1 ]; then
    exit 1
  fi
}

# need_engine fails early when docker is only a client with no engine.
need_engine() {
  need docker
  if [ "$DRY_RUN" != 1 ] && ! docker info >/dev/null 2>&1; then
    echo "kind-config: docker is installed but no container engine answers (docker info failed); kind needs one" >&2
    exit 1
  fi
}
