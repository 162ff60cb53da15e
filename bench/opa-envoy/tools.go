//go:build tools

// Pins the OPA-Envoy peer the benchmark runs against; bench/setup.sh builds it from this module.
package tools

import _ "github.com/open-policy-agent/opa-envoy-plugin/cmd/opa-envoy-plugin"
