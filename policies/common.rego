# Shared by every karavi.* package: the roles document and the quota rules.
#
# Unlike Dell's role-service, which rewrites this file with the roles inlined as a policy, the roles
# arrive as data (data.storage_authz.roles, set by the decision service with opa-wasm setData), so a
# configuration change never needs a policy rebuild. Tests may still override
# `data.karavi.common.roles` with `with`, exactly as Dell's policy tests do.
#
# Shape: {"<role>":{"system_types":{"<type>":{"system_ids":{"<sid>":{"pool_quotas":{"<pool>":<KiB>}}}}}}}
# where a quota is a number of KiB and 0 means unlimited.
package karavi.common

default roles := {}

roles := data.storage_authz.roles

# The comma list of role names in the token (Dell's `roles` claim), "" when absent.
claimed_roles_text := object.get(input, ["claims", "roles"], "")

claimed_roles := split(claimed_roles_text, ",")

pool_quota(role, type, sid, pool) := roles[role].system_types[type].system_ids[sid].pool_quotas[pool]

# A requested size in KiB: drivers send a number or a decimal string (PowerFlex sends "8388608").
# Anything else is undefined, which the packages turn into a deny.
requested_kib(size) := size if {
	is_number(size)
	size >= 0
	floor(size) == size
}

requested_kib(size) := to_number(size) if {
	is_string(size)
	regex.match(`^[0-9]+$`, size)
}

# Dell compares quotas across types, so a quota stored as a string ("44000000") outranks every
# number and silently allows any size. Here only a non-negative number is a quota.
valid_quota(quota) if {
	is_number(quota)
	quota >= 0
}

grants(quota, _) if {
	valid_quota(quota)
	quota == 0
}

grants(quota, size) if {
	valid_quota(quota)
	quota >= size
}

# {role: quota} for each claimed role whose quota on type/sid/pool grants `size` KiB.
permitted_quotas(type, sid, pool, size) := {role: quota |
	some role in claimed_roles
	quota := pool_quota(role, type, sid, pool)
	grants(quota, size)
}

# One message per claimed role whose configured quota on type/sid/pool is not a valid quota.
invalid_quota_messages(type, sid, pool) := {msg |
	some role in claimed_roles
	quota := pool_quota(role, type, sid, pool)
	not valid_quota(quota)
	msg := sprintf(
		"invalid quota %v for role %v on %v/%v/%v: a quota must be a non-negative number of KiB (0 = unlimited)",
		[json.marshal(quota), role, type, sid, pool],
	)
}

# The decision document of delete/map/unmap/sdc approve when any deny message is present.
denied_response(reasons) := {"allowed": false, "status": {"reason": concat(", ", reasons)}}
