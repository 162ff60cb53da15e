#!/usr/bin/env bash
# Compiles policies/*.rego (tests excluded) to WebAssembly with the pinned OPA CLI and writes the
# committed bundle the service loads: policies/build/policy.wasm and policies/build/manifest.json.
# The manifest's sourcesSha256 is how `npm test` (policies/policies.test.ts) notices a stale bundle:
# it is the sha256 of the `sha256sum` listing ("<hex>  <file>\n" per file, files in byte order) of
# the non-test .rego sources. wasmSha256 ties the manifest to the policy.wasm it describes.
set -euo pipefail
cd "$(dirname "$0")/.."

OPA="${OPA_BIN:-.tools/bin/opa}"
[ -x "$OPA" ] || command -v "$OPA" >/dev/null 2>&1 || { echo "build-policies: OPA CLI not found at $OPA; run 'npm run setup'." >&2; exit 1; }

# Keep in step with POLICY_ENTRYPOINTS in src/pipeline/policy/types.ts (a unit test checks it).
ENTRYPOINTS=(
  karavi/volumes/create
  karavi/volumes/powermax/create
  karavi/volumes/powerstore/create
  karavi/volumes/expand
  karavi/volumes/delete
  karavi/volumes/map
  karavi/volumes/unmap
  karavi/sdc/approve
  karavi/snapshot/create
  storage_authz/mount
)

mapfile -t SOURCES < <(cd policies && LC_ALL=C ls -1 -- *.rego | grep -v '_test\.rego$')

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$OPA" check --strict "${SOURCES[@]/#/policies/}"
"$OPA" build -t wasm "${ENTRYPOINTS[@]/#/--entrypoint=}" -o "$WORK/bundle.tar.gz" "${SOURCES[@]/#/policies/}"
mkdir -p policies/build
# -P -O: write the bundle's absolute member /policy.wasm to stdout (no path rewriting, no warning).
tar -xzPOf "$WORK/bundle.tar.gz" /policy.wasm > policies/build/policy.wasm

OPA_VERSION="$("$OPA" version | sed -n 's/^Version: //p')"
SOURCES_SHA256="$(cd policies && sha256sum -- "${SOURCES[@]}" | sha256sum | cut -d' ' -f1)"
WASM_SHA256="$(sha256sum policies/build/policy.wasm | cut -d' ' -f1)"
node -e '
  const [opaVersion, sourcesSha256, wasmSha256, sources, entrypoints] = process.argv.slice(1);
  const manifest = {
    opaVersion,
    entrypoints: entrypoints.split(" "),
    sources: sources.split(" "),
    sourcesSha256,
    wasmSha256,
  };
  process.stdout.write(JSON.stringify(manifest, null, 2) + "\n");
' "$OPA_VERSION" "$SOURCES_SHA256" "$WASM_SHA256" "${SOURCES[*]}" "${ENTRYPOINTS[*]}" > policies/build/manifest.json
echo "build-policies: wrote policies/build/policy.wasm ($(wc -c < policies/build/policy.wasm) bytes) for OPA $OPA_VERSION" >&2
