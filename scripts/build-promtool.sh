#!/usr/bin/env bash
# Builds Prometheus's promtool (the real exposition-format parser and linter: `promtool check metrics`)
# from the Go module proxy into the per-user cache outside the clone, once per version:
#   ${STORAGE_AUTHZ_CACHE:-~/.cache/storage-authz}/promtool-<version>
# test/support/promtool.ts computes the same path. Prints the binary's path.
set -euo pipefail
PROMETHEUS_VERSION=v0.316.0   # github.com/prometheus/prometheus (Prometheus 3.16)
fail() { echo "build-promtool: $*" >&2; exit 1; }

CACHE="${STORAGE_AUTHZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/storage-authz}"
BIN="$CACHE/promtool-$PROMETHEUS_VERSION"
if [ ! -x "$BIN" ]; then
  command -v go >/dev/null 2>&1 \
    || fail "Go is required to build promtool ('go install github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION'); 'go' is not on PATH."
  mkdir -p "$CACHE"
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
  echo "build-promtool: go install github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION -> $BIN" >&2
  # A private build cache, deleted afterwards (the module cache is kept).
  GOBIN="$WORK/bin" GOCACHE="$WORK/cache" GOFLAGS=-mod=mod go install -trimpath "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" \
    || fail "'go install github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION' failed (Go older than the module's go directive, or the Go module proxy unreachable?)."
  mv "$WORK/bin/promtool" "$BIN"
fi
echo "$BIN"
