#!/usr/bin/env bash
# Fetches the CSI spec (csi.proto) from the Go module proxy into the per-user cache outside the
# clone, never into the repo:
#   ${STORAGE_AUTHZ_CACHE:-~/.cache/storage-authz}/csi-spec-<version>/csi.proto
# The CSI node proxy (src/csi/) loads the proto from there at start-up (or from STORAGE_AUTHZ_CSI_PROTO).
set -euo pipefail

CSI_SPEC_VERSION=v1.13.0   # github.com/container-storage-interface/spec

CACHE_ROOT="${STORAGE_AUTHZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/storage-authz}"
fail() { echo "fetch-csi-spec: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || fail "Go is required to fetch github.com/container-storage-interface/spec@$CSI_SPEC_VERSION from the Go module proxy; 'go' is not on PATH."

SPEC="$CACHE_ROOT/csi-spec-$CSI_SPEC_VERSION"
if [ ! -s "$SPEC/csi.proto" ]; then
  DIR="$(cd /tmp && go mod download -json "github.com/container-storage-interface/spec@$CSI_SPEC_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [ -s "$DIR/csi.proto" ] || fail "go mod download github.com/container-storage-interface/spec@$CSI_SPEC_VERSION gave no csi.proto (Go module proxy unreachable?)."
  mkdir -p "$SPEC"
  cp "$DIR/csi.proto" "$SPEC/csi.proto.tmp" && mv "$SPEC/csi.proto.tmp" "$SPEC/csi.proto"
fi
