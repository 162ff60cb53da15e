# The peer's equivalent of our PowerFlex decisions, written the way an OPA-Envoy user would: the
# tenant JWT verified in Rego (HS256), the target system from the sidecar's Forwarded values, role
# and pool lookups from data, the create's quota compared against a number from parsed_body.
# What it cannot do (and ours does): reserve the capacity in a shared ledger.
#
# data.bench (written by bench/peers/opa-envoy.ts for each run):
#   secret, issuer, audience        token verification
#   tenants[<name>].revoked         live revocation
#   systems[<systemID>].credentials the array's Basic credentials (header value)
#   pools[<systemID>][<poolId>]     pool name (the lookup our service caches from the array)
#   roles                           Dell's role shape: roles[r].system_types.powerflex.system_ids[sid].pool_quotas[pool]
package bench.authz

import rego.v1

http := input.attributes.request.http

bearer := token if {
	[scheme, token] := split(http.headers.authorization, " ")
	scheme == "Bearer"
}

claims := payload if {
	[valid, _, payload] := io.jwt.decode_verify(bearer, {
		"secret": data.bench.secret,
		"alg": "HS256",
		"iss": data.bench.issuer,
		"aud": data.bench.audience,
	})
	valid
	payload.sub == "csm-tenant"
	not data.bench.tenants[payload.group].revoked
}

# Forwarded: for=csm-authorization;<endpoint>;<systemID>,by=csm-authorization;<plugin> (Envoy joins repeats with ',').
forwarded[key] := value if {
	some part in split(http.headers.forwarded, ",")
	[key, value] := split(replace(trim_space(part), "csm-authorization;", ""), "=")
}

system_id := parts[count(parts) - 1] if parts := split(forwarded.for, ";")

system := data.bench.systems[system_id]

powerflex if forwarded.by in {"powerflex", "csi-vxflexos", "vxflexos"}

# Drivers send the collection path with a trailing '/', which parsed_path keeps as an empty segment.
path_segments := [segment | some segment in input.parsed_path; segment != ""]

is_create if {
	http.method == "POST"
	path_segments == ["api", "types", "Volume", "instances"]
}

is_read if http.method == "GET"

size_kib := to_number(input.parsed_body.volumeSizeInKb)

pool := data.bench.pools[system_id][input.parsed_body.storagePoolId]

permitted_roles[role] := quota if {
	some role in split(claims.roles, ",")
	quota := data.bench.roles[role].system_types.powerflex.system_ids[system_id].pool_quotas[pool]
	quota_allows(quota)
}

quota_allows(quota) if quota == 0

quota_allows(quota) if quota >= size_kib

decision_allowed if {
	powerflex
	system
	claims
	is_read
}

decision_allowed if {
	powerflex
	system
	claims
	is_create
	count(permitted_roles) > 0
}

default result := {"allowed": false, "http_status": 403, "body": "{\"errors\":[{\"code\":\"403\",\"message\":\"request denied\"}]}"}

result := {
	"allowed": true,
	"headers": {"authorization": system.credentials},
	"request_headers_to_remove": ["cookie"],
} if decision_allowed
