#!/usr/bin/env bash
# Builds test/goscaleio-driver (the PowerFlex CSI driver's calls through Dell's goscaleio, pinned in
# its go.mod/go.sum) once per source version, into a per-user cache outside the clone so a fresh
# clone reuses it: $STORAGE_AUTHZ_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/storage-authz)/
# goscaleio-driver-<first 16 hex of sha256(go.mod go.sum main.go)>. test/support/goscaleioDriver.ts
# computes the same path. Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/../test/goscaleio-driver"

fail() { echo "build-goscaleio-driver: $*" >&2; exit 1; }

CACHE="${STORAGE_AUTHZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/storage-authz}"
KEY="$(cat go.mod go.sum main.go | sha256sum | cut -c1-16)"
BIN="$CACHE/goscaleio-driver-$KEY"
if [ ! -x "$BIN" ]; then
  command -v go >/dev/null 2>&1 \
    || fail "Go 1.25+ is required to build the goscaleio driver for the PowerFlex end-to-end test ('go build' in test/goscaleio-driver, module github.com/dell/goscaleio v1.21.0 from the Go module proxy); 'go' is not on PATH."
  mkdir -p "$CACHE"
  echo "build-goscaleio-driver: go build (github.com/dell/goscaleio v1.21.0) -> $BIN" >&2
  # -mod=readonly: only the versions and hashes committed in go.mod/go.sum are used.
  GOFLAGS=-mod=readonly go build -trimpath -o "$BIN.tmp" . \
    || fail "'go build' in test/goscaleio-driver failed (Go older than 1.25, or the Go module proxy unreachable?)."
  mv "$BIN.tmp" "$BIN"
fi
echo "$BIN"
