#!/usr/bin/env bash
# Builds versitygw (an Apache-2.0 S3 gateway over a POSIX directory) from the Go module proxy into a cache outside
# the repo, once; the backup tests run it as a real S3 endpoint with TLS for pgBackRest. Prints the binary's path.
set -euo pipefail
V=${PGOP_VERSITYGW_VERSION:-v1.8.0}
out=${PGOP_VERSITYGW_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgop/versitygw-$V}
if [ -x "$out/versitygw" ]; then echo "$out/versitygw"; exit 0; fi
if ! command -v go >/dev/null; then
  # Same toolchain source as tests/k8s/bins/build.sh: the Go module proxy.
  GO_TC=${PGOP_GO_TOOLCHAIN:-go1.25.5}
  tc="${XDG_CACHE_HOME:-$HOME/.cache}/pgop/go-$GO_TC"
  if [ ! -x "$tc/go/bin/go" ]; then
    mkdir -p "$tc"
    curl -fsSL "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-$GO_TC.linux-amd64.zip" -o "$tc/tc.zip"
    (cd "$tc" && python3 -c "import zipfile; zipfile.ZipFile('tc.zip').extractall('.')" && rm tc.zip && mv golang.org/toolchain@v0.0.1-$GO_TC.linux-amd64 go && chmod -R u+x go/bin go/pkg/tool)
  fi
  export PATH="$tc/go/bin:$PATH"
fi
echo "versitygw: building $V from the Go module proxy (first run only; ~2 min on 2 cores)" >&2
mkdir -p "$out"
GOBIN="$out" GOWORK=off GOTOOLCHAIN=${GOTOOLCHAIN:-auto} CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@$V"
echo "$out/versitygw"
