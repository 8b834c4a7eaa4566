#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy into a cache outside the repo, once; later runs reuse
# them. A wrapper module requires k8s.io/kubernetes and maps every staging module to its published tag (k8s's own
# replace lines to ./staging do not apply to a dependency).
set -euo pipefail
K8S=${PGOP_K8S_VERSION:-v1.34.10}
here=$(cd "$(dirname "$0")" && pwd)
out=${PGOP_K8S_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgop/k8s-bins/$K8S}
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
if [ -x "$out/kube-apiserver" ] && [ -x "$out/etcd" ]; then echo "$out"; exit 0; fi
if ! command -v go >/dev/null; then
  # No Go here: take the toolchain from the Go module proxy (the only place it can come from on these machines).
  GO_TC=${PGOP_GO_TOOLCHAIN:-go1.25.5}
  tc="${XDG_CACHE_HOME:-$HOME/.cache}/pgop/go-$GO_TC"
  if [ ! -x "$tc/go/bin/go" ]; then
    echo "k8s-bins: fetching the $GO_TC toolchain from the Go module proxy" >&2
    mkdir -p "$tc"
    curl -fsSL "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-$GO_TC.linux-amd64.zip" -o "$tc/tc.zip"
    (cd "$tc" && python3 -c "import zipfile,sys; zipfile.ZipFile('tc.zip').extractall('.')" && rm tc.zip && mv golang.org/toolchain@v0.0.1-$GO_TC.linux-amd64 go && chmod -R u+x go/bin go/pkg/tool)
  fi
  export PATH="$tc/go/bin:$PATH"
fi
mkdir -p "$out"
echo "k8s-bins: building kube-apiserver $K8S and etcd from the Go module proxy (first run only; ~15 min on 2 cores)" >&2
cd "$here/kube"
[ -f go.mod ] || go mod init local.test/pgop-kube-bins >/dev/null 2>&1
kmod=$(go mod download -json "k8s.io/kubernetes@$K8S" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
need=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$kmod" | head -1)
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then echo "k8s-bins: $K8S needs Go $need, this machine has $have" >&2; exit 1; fi
go mod edit -require="k8s.io/kubernetes@$K8S"
for m in $(sed -n -E 's#^[[:space:]]*(replace[[:space:]]+)?(k8s\.io/[^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/.*#\2#p' "$kmod"); do
  go mod edit -replace="$m=$m@v0.${K8S#v1.}"
done
go mod tidy >/dev/null 2>&1
minor=$(echo "$K8S" | cut -d. -f2)
go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" -o "$out/" ./cmd/...
etcdv=$(sed -n 's#^[[:space:]]*go.etcd.io/etcd/client/v3 \(v[^ ]*\).*#\1#p' "$kmod" | head -1)
cd "$here/etcd"
[ -f go.mod ] || go mod init local.test/pgop-etcd-bin >/dev/null 2>&1
go mod edit -require="go.etcd.io/etcd/server/v3@$etcdv"
go mod tidy >/dev/null 2>&1
go build -trimpath -ldflags "-s -w" -o "$out/etcd" .
echo "$out"
