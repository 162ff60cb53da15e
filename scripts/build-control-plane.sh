#!/usr/bin/env bash
# Builds the Kubernetes control plane the tests run against (etcd, kube-apiserver, kubectl, helm)
# from the Go module proxy into a per-user cache OUTSIDE the clone, so every clone on this machine
# (CI's fresh one included) reuses it:
#   ${STORAGE_AUTHZ_CACHE:-~/.cache/storage-authz}/k8s-v1.37.2/bin/
# A binary is rebuilt only when it is missing or its version stamp (<binary>.version) differs.
# The first build takes 8–11 minutes on 2 cores and ~2.7 GB of memory for one link; the Go build
# cache it uses is deleted afterwards (~3.6 GB), the Go module cache (~1.5 GB) is kept.
#
# A machine that already has the binaries (envtest assets, a distro package) skips all of this:
# set KUBEBUILDER_ASSETS (or STORAGE_AUTHZ_K8S_BIN) to a directory holding etcd and kube-apiserver.
#
# Why a wrapper module: `go install k8s.io/kubernetes/cmd/kube-apiserver@v` is refused because
# k8s.io/kubernetes's go.mod replaces its staging modules with ./staging/... paths (etcd's server
# module has ../ replaces likewise). A wrapper that requires the module and replaces each staging
# module with its published version builds the same sources.
set -euo pipefail

K8S_VERSION=v1.37.2        # k8s.io/kubernetes; its staging modules are v0.<minor>.<patch>
ETCD_VERSION=v3.7.3        # go.etcd.io/etcd/server/v3 and its sibling modules
HELM_VERSION=v3.22.0       # helm.sh/helm/v3
K8S_STAGING_VERSION="v0.${K8S_VERSION#v1.}"

CACHE_ROOT="${STORAGE_AUTHZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/storage-authz}"
CACHE="$CACHE_ROOT/k8s-$K8S_VERSION"
BIN="$CACHE/bin"
WANTED=("$@")
[ ${#WANTED[@]} -gt 0 ] || WANTED=(etcd kube-apiserver kubectl helm)

fail() { echo "build-control-plane: $*" >&2; exit 1; }

# Binaries provided by the machine: nothing to build.
PROVIDED="${STORAGE_AUTHZ_K8S_BIN:-${KUBEBUILDER_ASSETS:-}}"
if [ -n "$PROVIDED" ]; then
  for b in etcd kube-apiserver; do
    [ -x "$PROVIDED/$b" ] || fail "$PROVIDED/$b is not an executable (from STORAGE_AUTHZ_K8S_BIN/KUBEBUILDER_ASSETS); unset it to build the control plane into $BIN."
  done
  exit 0
fi

stamp_of() {
  case "$1" in
    etcd) echo "etcd $ETCD_VERSION" ;;
    kube-apiserver|kubectl|kube-controller-manager) echo "$1 $K8S_VERSION" ;;
    helm) echo "helm $HELM_VERSION k8s $K8S_VERSION" ;;
    *) fail "unknown binary '$1' (etcd, kube-apiserver, kubectl, kube-controller-manager, helm)" ;;
  esac
}
up_to_date() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/$1.version" 2>/dev/null)" = "$(stamp_of "$1")" ]; }

MISSING=()
for b in "${WANTED[@]}"; do up_to_date "$b" || MISSING+=("$b"); done
[ ${#MISSING[@]} -eq 0 ] && exit 0

command -v go >/dev/null 2>&1 || fail "Go is required to build ${MISSING[*]} (Kubernetes $K8S_VERSION) from the Go module proxy; 'go' is not on PATH. Or set KUBEBUILDER_ASSETS to a directory with etcd and kube-apiserver."
mkdir -p "$BIN"

# One build at a time per cache (two clones running setup at once share it).
exec 9>"$CACHE/.lock"
flock 9
MISSING=()
for b in "${WANTED[@]}"; do up_to_date "$b" || MISSING+=("$b"); done
[ ${#MISSING[@]} -eq 0 ] && exit 0

echo "build-control-plane: building ${MISSING[*]} into $BIN (first time only: 8–11 minutes, ~2.7 GB memory)" >&2
WORK="$CACHE/.build"
rm -rf "$WORK"
mkdir -p "$WORK"
export GOCACHE="$WORK/gocache" GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -p=${BUILD_PARALLELISM:-2}"
trap 'rm -rf "$WORK"' EXIT
NICE=(nice -n "${BUILD_NICE:-10}")

# go.mod of a published module, read through the module proxy.
module_gomod() { go mod download -json "$1@$2" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p'; }

# Replace lines `X => X <version>` for each module that gomod replaces with a relative path.
published_replaces() {
  local gomod="$1" version="$2"
  awk '/^replace \(/{r=1;next} r&&/^\)/{r=0} r||/^replace /{print}' "$gomod" \
    | sed -n 's/^\(replace \)\?\s*\(\S\+\)\s*=>\s*\.\{1,2\}\/.*$/\2/p' \
    | grep -v '^k8s.io/sample-' \
    | while read -r mod; do echo "replace $mod => $mod $version"; done
}

build_kubernetes() {
  local dir="$WORK/kubernetes" gomod date
  mkdir -p "$dir"
  gomod="$(cd "$dir" && module_gomod k8s.io/kubernetes "$K8S_VERSION")" || fail "cannot download k8s.io/kubernetes@$K8S_VERSION from the Go module proxy ($(go env GOPROXY))."
  { echo "module storage-authz/k8s-build"; echo "go $(go env GOVERSION | sed 's/^go\([0-9]*\.[0-9]*\).*/\1/')"
    echo "require k8s.io/kubernetes $K8S_VERSION"; published_replaces "$gomod" "$K8S_STAGING_VERSION"; } > "$dir/go.mod"
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  for b in "$@"; do
    echo "build-control-plane: go build k8s.io/kubernetes/cmd/$b@$K8S_VERSION" >&2
    (cd "$dir" && "${NICE[@]}" go build -trimpath -ldflags="$ldflags" -o "$BIN/$b.tmp" "k8s.io/kubernetes/cmd/$b") \
      || fail "building $b $K8S_VERSION failed (see the go output above)."
    mv "$BIN/$b.tmp" "$BIN/$b"; stamp_of "$b" > "$BIN/$b.version"
  done
}

build_etcd() {
  local dir="$WORK/etcd" gomod
  mkdir -p "$dir"
  gomod="$(cd "$dir" && module_gomod go.etcd.io/etcd/server/v3 "$ETCD_VERSION")" || fail "cannot download go.etcd.io/etcd/server/v3@$ETCD_VERSION from the Go module proxy ($(go env GOPROXY))."
  { echo "module storage-authz/etcd-build"; echo "go $(go env GOVERSION | sed 's/^go\([0-9]*\.[0-9]*\).*/\1/')"
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"; published_replaces "$gomod" "$ETCD_VERSION"; } > "$dir/go.mod"
  echo "build-control-plane: go build go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  (cd "$dir" && "${NICE[@]}" go build -trimpath -ldflags="-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3) \
    || fail "building etcd $ETCD_VERSION failed (see the go output above)."
  mv "$BIN/etcd.tmp" "$BIN/etcd"; stamp_of etcd > "$BIN/etcd.version"
}

build_helm() {
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
  echo "build-control-plane: go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  (cd "$WORK" && GOFLAGS="-p=${BUILD_PARALLELISM:-2}" GOBIN="$WORK/helm-bin" "${NICE[@]}" go install -trimpath -ldflags="$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") \
    || fail "building helm $HELM_VERSION failed (see the go output above)."
  mv "$WORK/helm-bin/helm" "$BIN/helm"; stamp_of helm > "$BIN/helm.version"
}

K8S_BINS=()
for b in "${MISSING[@]}"; do
  case "$b" in
    etcd) build_etcd ;;
    helm) ;;
    *) K8S_BINS+=("$b") ;;
  esac
done
[ ${#K8S_BINS[@]} -eq 0 ] || build_kubernetes "${K8S_BINS[@]}"
for b in "${MISSING[@]}"; do [ "$b" != helm ] || build_helm; done

for b in "${MISSING[@]}"; do up_to_date "$b" || fail "$b was built but $BIN/$b is not usable."; done
echo "build-control-plane: ready in $BIN (${MISSING[*]} built)" >&2
