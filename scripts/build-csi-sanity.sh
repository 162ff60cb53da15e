#!/usr/bin/env bash
# Builds csi-sanity, the Kubernetes CSI project's own conformance client (github.com/kubernetes-csi/csi-test,
# cmd/csi-sanity), from the Go module proxy into the per-user cache outside the clone, once per version:
#   ${STORAGE_AUTHZ_CACHE:-~/.cache/storage-authz}/csi-sanity-<version>
# test/csi-sanity.e2e.test.ts runs what it prints (the binary's path).
# v5.6.0 is built against the CSI spec v1.13.0, the spec scripts/fetch-csi-spec.sh fetches for the proxy.
set -euo pipefail
CSI_TEST_VERSION=v5.6.0   # github.com/kubernetes-csi/csi-test/v5
# The version stamped as csi-test's own Makefile does (`csi-sanity -version`).
exec bash "$(dirname "$0")/go-install-cached.sh" csi-sanity "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$CSI_TEST_VERSION" -ldflags "-X main.VERSION=$CSI_TEST_VERSION"
