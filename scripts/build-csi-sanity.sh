#!/usr/bin/env bash
# Builds csi-sanity, the Kubernetes CSI project's own conformance client (github.com/kubernetes-csi/csi-test,
# cmd/csi-sanity), from the Go module proxy into the per-user cache outside the clone, once per version:
#   ${STORAGE_AUTHZ_CACHE:-~/.cache/storage-authz}/csi-sanity-<version>
# test/csi-sanity.e2e.test.ts computes the same path. Prints the binary's path.
# v5.6.0 is built against the CSI spec v1.13.0, the spec scripts/fetch-csi-spec.sh fetches for the proxy.
set -euo pipefail
CSI_TEST_VERSION=v5.6.0   # github.com/kubernetes-csi/csi-test/v5
fail() { echo "build-csi-sanity: $*" >&2; exit 1; }

CACHE="${STORAGE_AUTHZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/storage-authz}"
BIN="$CACHE/csi-sanity-$CSI_TEST_VERSION"
MODULE="github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$CSI_TEST_VERSION"
if [ ! -x "$BIN" ]; then
  command -v go >/dev/null 2>&1 \
    || fail "Go is required to build csi-sanity ('go install $MODULE'); 'go' is not on PATH."
  mkdir -p "$CACHE"
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
  echo "build-csi-sanity: go install $MODULE -> $BIN" >&2
  # A private build cache, deleted afterwards (the module cache is kept); the version stamped as csi-test's Makefile does.
  GOBIN="$WORK/bin" GOCACHE="$WORK/cache" GOFLAGS=-mod=mod go install -trimpath -ldflags "-X main.VERSION=$CSI_TEST_VERSION" "$MODULE" \
    || fail "'go install $MODULE' failed (Go older than the module's go directive, or the Go module proxy unreachable?)."
  mv "$WORK/bin/csi-sanity" "$BIN"
fi
echo "$BIN"
