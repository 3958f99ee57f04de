#!/usr/bin/env bash
# Knative Serving with Kourier as its ingress, pinned to one release. Kourier's
# Service becomes a NodePort on $KOURIER_PORT (127.0.0.1 on the host), and
# services get hostnames under kind.local, sent as the Host header.
# shellcheck source=kind-config/lib.sh
. "$(dirname "$0")/lib.sh"
need kubectl
base="https://github.com/knative"
step "Knative Serving $KNATIVE_VERSION"
run kubectl apply -f "$base/serving/releases/download/$KNATIVE_VERSION/serving-crds.yaml"
run kubectl wait --for condition=Established --timeout 120s crd/services.serving.knative.dev
run kubectl apply -f "$base/serving/releases/download/$KNATIVE_VERSION/serving-core.yaml"
step "Kourier $KNATIVE_VERSION"
run kubectl apply -f "$base/net-kourier/releases/download/$KNATIVE_VERSION/kourier.yaml"
run kubectl -n knative-serving patch configmap/config-network --type merge \
  -p '{"data":{"ingress-class":"kourier.ingress.networking.knative.dev"}}'
run kubectl -n knative-serving patch configmap/config-domain --type merge \
  -p '{"data":{"kind.local":""}}'
# Knative resolves a tag to a digest through the image's registry before it
# creates a revision; images loaded with kind load are in no registry, so
# their registries are skipped (Knative's defaults, and the project's own).
run kubectl -n knative-serving patch configmap/config-deployment --type merge \
  -p '{"data":{"registries-skipping-tag-resolving":"kind.local,ko.local,dev.local,scalebench.dev"}}'
run kubectl -n kourier-system patch service kourier --type merge \
  -p "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"name\":\"http2\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080,\"nodePort\":$KOURIER_PORT}]}}"
run kubectl -n knative-serving wait --for condition=Available --timeout 300s deployment --all
run kubectl -n kourier-system wait --for condition=Available --timeout 300s deployment --all
