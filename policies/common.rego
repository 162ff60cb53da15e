# Shared by every karavi.* package: the roles document and the quota rules.
#
# Unlike Dell's role-service, which rewrites this file with the roles inlined as a policy, the roles
# arrive as data (data.storage_authz.roles, set by the decision service with opa-wasm setData), so a
# configuration change never needs a policy rebuild. Tests may still override
# `data.karavi.common.roles` with `with`, exactly as Dell's policy tests do.
#
# Shape: {"<role>":{"system_types":{"<type>":{"system_ids":{"<sid>":{"pool_quotas":{"<pool>":<KiB>}}}}}}}
# where a quota is a number of KiB (or a string of digits, as Dell's to_number reads it) and 0 means unlimited.
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

# A configured quota in KiB. Dell's policies convert quotas with to_number, so Dell's own tests and
# role data written by its tools carry digit strings ("44000000"): such a string is that number.
# Any other string ("44GB", "-1", "1e9") or type is undefined, which the packages turn into a deny
# (Dell's to_number would read "-1" and "1e9" too; a quota here is a whole, non-negative KiB count).
quota_kib(quota) := quota if {
	is_number(quota)
	quota >= 0
	floor(quota) == quota
}

quota_kib(quota) := to_number(quota) if {
	is_string(quota)
	regex.match(`^[0-9]{1,16}$`, quota)
}

grants(kib, _) if kib == 0

grants(kib, size) if kib >= size

# {role: quota} for each claimed role whose quota on type/sid/pool grants `size` KiB.
permitted_quotas(type, sid, pool, size) := {role: quota |
	some role in claimed_roles
	quota := quota_kib(pool_quota(role, type, sid, pool))
	grants(quota, size)
}

# One message per claimed role whose configured quota on type/sid/pool is not a valid quota.
invalid_quota_messages(type, sid, pool) := {msg |
	some role in claimed_roles
	quota := pool_quota(role, type, sid, pool)
	not quota_kib(quota)
	msg := sprintf(
		"invalid quota %v for role %v on %v/%v/%v: a quota must be a non-negative whole number of KiB, or a string of digits (0 = unlimited)",
		[json.marshal(quota), role, type, sid, pool],
	)
}

# The decision document of delete/map/unmap/sdc approve when any deny message is present.
denied_response(reasons) := {"allowed": false, "status": {"reason": concat(", ", reasons)}}
