#!/usr/bin/env bash
# What `npm run bench` needs on top of scripts/setup.sh: the OPA-Envoy peer (opa-envoy-plugin), built
# from the pinned module in bench/opa-envoy (go.mod/go.sum) into .tools/bin, Dell's v1 proxy-server
# peer (scripts/build-dell-proxy-server.sh, optional), and wrk for the Envoy ceilings. Fails with an exact message when something cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

OPA_ENVOY_VERSION=1.0.0
fail() { echo "bench setup: $*" >&2; exit 1; }

# `go install …@version` cannot be used: it asks the module proxy for the plugin's version list
# (to check deprecation), which the proxy refuses; building from a pinned go.mod/go.sum needs only
# the pinned versions.
# (The version is captured first: `grep -q` closing the pipe early would fail the pipeline under pipefail.)
installed=$(.tools/bin/opa-envoy-plugin version 2>/dev/null || true)
if ! grep -q "^Version: $OPA_ENVOY_VERSION$" <<<"$installed"; then
  command -v go >/dev/null 2>&1 || fail "Go is required to build the OPA-Envoy peer (github.com/open-policy-agent/opa-envoy-plugin v$OPA_ENVOY_VERSION-envoy); 'go' is not on PATH."
  echo "bench setup: building opa-envoy-plugin v$OPA_ENVOY_VERSION-envoy into .tools/bin" >&2
  (cd bench/opa-envoy && go build -o ../../.tools/bin/opa-envoy-plugin github.com/open-policy-agent/opa-envoy-plugin/cmd/opa-envoy-plugin) \
    || fail "building github.com/open-policy-agent/opa-envoy-plugin@v$OPA_ENVOY_VERSION-envoy failed (Go module proxy unreachable?); run 'cd bench/opa-envoy && go build github.com/open-policy-agent/opa-envoy-plugin/cmd/opa-envoy-plugin' to see why."
fi

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >/dev/null || fail "'apt-get install wrk' failed."
  else
    fail "wrk is required for the Envoy throughput ceilings: run 'sudo apt-get install wrk' (Debian/Ubuntu) or put it on PATH."
  fi
fi
# Dell's v1 proxy-server, the peer of the `dell` section: built from a copy of Dell's repository
# (DELL_KARAVI_SRC) when one is there; otherwise one line says why it is not, and the report prints
# its goals as "not measured: <that line>".
bash scripts/build-dell-proxy-server.sh >/dev/null

command -v taskset >/dev/null 2>&1 || fail "taskset (util-linux) is required to give each server the same CPU."
echo "bench setup: ready (opa-envoy-plugin $OPA_ENVOY_VERSION, $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2))" >&2
