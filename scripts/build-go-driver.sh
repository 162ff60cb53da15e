#!/usr/bin/env bash
# Builds a Go driver of the end-to-end tests, test/<name>/ (a CSI driver's calls through Dell's own
# Go client library, pinned in its go.mod/go.sum), once per source version, into a per-user cache
# outside the clone so a fresh clone reuses it: $STORAGE_AUTHZ_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/storage-authz)/<name>-<first 16 hex of sha256(go.mod go.sum main.go)>.
# test/support/goDriver.ts computes the same path. Prints the binary's path.
# Usage: scripts/build-go-driver.sh <name>   e.g. gopowerstore-driver
set -euo pipefail
fail() { echo "build-go-driver: $*" >&2; exit 1; }
NAME="${1:?usage: build-go-driver.sh <test/ directory name>}"
DIR="$(dirname "$0")/../test/$NAME"
[ -f "$DIR/go.mod" ] || fail "no Go driver at test/$NAME (go.mod missing)"
cd "$DIR"

CACHE="${STORAGE_AUTHZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/storage-authz}"
KEY="$(cat go.mod go.sum main.go | sha256sum | cut -c1-16)"
BIN="$CACHE/$NAME-$KEY"
if [ ! -x "$BIN" ]; then
  command -v go >/dev/null 2>&1 \
    || fail "Go 1.25+ is required to build test/$NAME ('go build' with the modules pinned in its go.mod from the Go module proxy); 'go' is not on PATH."
  mkdir -p "$CACHE"
  echo "build-go-driver: go build test/$NAME -> $BIN" >&2
  # -mod=readonly: only the versions and hashes committed in go.mod/go.sum are used.
  GOFLAGS=-mod=readonly go build -trimpath -o "$BIN.tmp" . \
    || fail "'go build' in test/$NAME failed (Go older than 1.25, or the Go module proxy unreachable?)."
  mv "$BIN.tmp" "$BIN"
fi
echo "$BIN"
