# Volume create on PowerFlex (and the default create policy): is the requested size within the quota
# of one of the tenant's roles on this pool? The decision service takes the effective quota from
# permitted_roles and reserves it in the ledger.
package karavi.volumes.create

import data.karavi.common

requested_kib := common.requested_kib(input.request.volumeSizeInKb)

default permitted_roles := {}

permitted_roles := common.permitted_quotas(input.systemtype, input.storagesystemid, input.storagepool, requested_kib)

default allow := false

allow if {
	count(permitted_roles) != 0
	count(deny) == 0
}

deny contains "no configured roles" if common.roles == {}

deny contains msg if {
	not requested_kib
	msg := sprintf("invalid volumeSizeInKb %v: expected a non-negative integer number of KiB", [json.marshal(input.request.volumeSizeInKb)])
}

deny contains msg if {
	requested_kib
	count(permitted_roles) == 0
	msg := sprintf("no roles in [%v] allow the %v Kb request on %v/%v/%v", [
		common.claimed_roles_text, input.request.volumeSizeInKb,
		input.systemtype, input.storagesystemid, input.storagepool,
	])
}

deny contains msg if {
	some msg in common.invalid_quota_messages(input.systemtype, input.storagesystemid, input.storagepool)
}
