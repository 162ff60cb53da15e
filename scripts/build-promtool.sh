#!/usr/bin/env bash
# Builds Prometheus's promtool (the real exposition-format parser and linter: `promtool check metrics`)
# from the Go module proxy into the per-user cache outside the clone, once per version:
#   ${STORAGE_AUTHZ_CACHE:-~/.cache/storage-authz}/promtool-<version>
# test/support/promtool.ts computes the same path. Prints the binary's path.
set -euo pipefail
PROMETHEUS_VERSION=v0.316.0   # github.com/prometheus/prometheus (Prometheus 3.16)
exec bash "$(dirname "$0")/go-install-cached.sh" promtool "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION"
