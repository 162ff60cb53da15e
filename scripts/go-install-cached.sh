#!/usr/bin/env bash
# Builds a Go tool from the Go module proxy at an exact version into the per-user cache outside the
# clone, once per version, and prints the binary's path:
#   ${STORAGE_AUTHZ_CACHE:-~/.cache/storage-authz}/<name>-<version>
# Usage: scripts/go-install-cached.sh <name> <package>@<version> [go install flags...]
# (build-promtool.sh and build-csi-sanity.sh pin their tools with it; the tests compute the same path.)
set -euo pipefail
NAME="${1:?usage: go-install-cached.sh <name> <package>@<version> [go install flags...]}"
PACKAGE="${2:?usage: go-install-cached.sh <name> <package>@<version> [go install flags...]}"
shift 2
fail() { echo "build-$NAME: $*" >&2; exit 1; }

CACHE="${STORAGE_AUTHZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/storage-authz}"
BIN="$CACHE/$NAME-${PACKAGE##*@}"
if [ ! -x "$BIN" ]; then
  command -v go >/dev/null 2>&1 \
    || fail "Go is required to build $NAME ('go install $PACKAGE'); 'go' is not on PATH."
  mkdir -p "$CACHE"
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
  echo "build-$NAME: go install $PACKAGE -> $BIN" >&2
  # A private build cache, deleted afterwards (the module cache is kept).
  GOBIN="$WORK/bin" GOCACHE="$WORK/cache" GOFLAGS=-mod=mod go install -trimpath "$@" "$PACKAGE" \
    || fail "'go install $PACKAGE' failed (Go older than the module's go directive, or the Go module proxy unreachable?)."
  mv "$WORK/bin/$NAME" "$BIN"
fi
echo "$BIN"
