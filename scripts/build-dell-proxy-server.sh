#!/usr/bin/env bash
# Builds Dell's v1 proxy-server (CSM for Authorization, github.com/dell/karavi-authorization,
# `cmd/proxy-server`) as a bench peer, from a copy of Dell's repository given at setup time; nothing
# of Dell's code is in this repository. The Go module proxy answers 403 for that module, so the
# source must come from a git dir or a source tree (DELL_KARAVI_SRC); its dependencies come from the
# Go module proxy (its go.mod/go.sum). Output, per user, outside the clone:
#   ${STORAGE_AUTHZ_CACHE:-~/.cache/storage-authz}/dell-proxy-server-<tag>          the binary
#   ${STORAGE_AUTHZ_CACHE:-~/.cache/storage-authz}/dell-policies-<tag>/             Dell's Rego (policies/)
# When it cannot build, it writes the one-line reason to dell-proxy-server-<tag>.not-built (the
# bench report prints it as "not measured: <reason>"), prints it, and exits 0: the Dell peer is
# optional, every other contender still runs.
# v1.14.0 is the last v1 tag with cmd/proxy-server (Dell's v2 server is not public).
set -euo pipefail
TAG=v1.14.0
CACHE="${STORAGE_AUTHZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/storage-authz}"
BIN="$CACHE/dell-proxy-server-$TAG"
POLICIES="$CACHE/dell-policies-$TAG"
REASON_FILE="$BIN.not-built"
SRC="${DELL_KARAVI_SRC:-/work/.mirror/dell+karavi-authorization/repo}"
mkdir -p "$CACHE"

not_built() {
  local reason="Dell's $TAG proxy-server is not built: $*"
  echo "$reason" >"$REASON_FILE"
  echo "bench setup: $reason" >&2
  exit 0
}

if [ -x "$BIN" ] && [ -d "$POLICIES" ]; then
  rm -f "$REASON_FILE"
  echo "$BIN"
  exit 0
fi
HINT="set DELL_KARAVI_SRC=<git dir or source tree of github.com/dell/karavi-authorization at $TAG> and run bench/setup.sh"
command -v go >/dev/null 2>&1 || not_built "'go' is not on PATH (Go builds it; $HINT)"
[ -e "$SRC" ] || not_built "no source at $SRC (the Go module proxy answers 403 for github.com/dell/karavi-authorization; $HINT)"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
if git --git-dir="$SRC" rev-parse --verify -q "$TAG^{commit}" >/dev/null 2>&1; then
  # deploy/__debug_bin (a stray debugger binary in Dell's tree) may be absent from a partial
  # snapshot; nothing is built from deploy/ (git still names the missing blob on stderr, exit 0).
  git --git-dir="$SRC" archive "$TAG" -- . ':(exclude)deploy/__debug_bin' 2>"$WORK/archive.log" | tar -x -C "$WORK" \
    || not_built "'git archive $TAG' of $SRC failed: $(tail -1 "$WORK/archive.log") ($HINT)"
elif [ -f "$SRC/go.mod" ] && grep -q '^module karavi-authorization$' "$SRC/go.mod" && [ -d "$SRC/cmd/proxy-server" ]; then
  cp -a "$SRC/." "$WORK/"
else
  not_built "$SRC is neither a git dir with tag $TAG nor a karavi-authorization source tree with cmd/proxy-server ($HINT)"
fi

echo "bench setup: building Dell's proxy-server $TAG from $SRC -> $BIN" >&2
(cd "$WORK" && GOFLAGS=-mod=mod go build -trimpath -o "$WORK/proxy-server" ./cmd/proxy-server) >"$WORK/build.log" 2>&1 \
  || not_built "'go build ./cmd/proxy-server' failed: $(grep -v '^go: downloading' "$WORK/build.log" | tail -1)"
rm -rf "$POLICIES"
mkdir -p "$POLICIES"
cp "$WORK"/policies/*.rego "$POLICIES/"
mv "$WORK/proxy-server" "$BIN"
rm -f "$REASON_FILE"
echo "$BIN"
