#!/usr/bin/env bash
# Builds helm from the Go module proxy into the same cache as the control plane binaries (first run only).
set -euo pipefail
HELM=${PGOP_HELM_VERSION:-v3.16.4}
out=${PGOP_K8S_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgop/helm-$HELM}
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
if [ -x "$out/helm" ]; then echo "$out/helm"; exit 0; fi
mkdir -p "$out"
echo "helm: building $HELM from the Go module proxy (first run only)" >&2
GOBIN="$out" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM"
echo "$out/helm"
