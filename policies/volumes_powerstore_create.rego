# Volume create on PowerStore. PowerStore has no pools, so a role's quota is keyed by the systemID
# itself (pool_quotas[<systemID>]) and the size (KiB) arrives as request.size.
package karavi.volumes.powerstore.create

import data.karavi.common

requested_kib := common.requested_kib(input.request.size)

default permitted_roles := {}

permitted_roles := common.permitted_quotas(input.systemtype, input.storagesystemid, input.storagesystemid, requested_kib)

default allow := false

allow if {
	count(permitted_roles) != 0
	count(deny) == 0
}

deny contains "no configured roles" if common.roles == {}

deny contains msg if {
	not requested_kib
	msg := sprintf("invalid size %v: expected a non-negative integer number of KiB", [json.marshal(input.request.size)])
}

deny contains msg if {
	requested_kib
	count(permitted_roles) == 0
	msg := sprintf("no roles in [%v] allow the %v Kb request on %v/%v/", [
		common.claimed_roles_text, input.request.size,
		input.systemtype, input.storagesystemid,
	])
}

deny contains msg if {
	some msg in common.invalid_quota_messages(input.systemtype, input.storagesystemid, input.storagesystemid)
}
