# Volume expansion (any array type): the create decision for the volume's new size, in the same
# family and with the same inputs and decision document as karavi.volumes.create (Dell has no
# expansion policy: v1 passed expansions through unchecked). Is the new size within the quota of
# one of the tenant's roles on the volume's pool? The ledger then charges the increase only.
# A shrink is denied here with a clear message; the arrays refuse it too.
#
# Input: {claims, request: {name, volumeSizeInKb: <new size>, currentSizeInKb}, storagepool,
# storagesystemid, systemtype}. Decision: {allow, deny, permitted_roles}.
package karavi.volumes.expand

import data.karavi.common

requested_kib := common.requested_kib(input.request.volumeSizeInKb)

current_kib := common.requested_kib(input.request.currentSizeInKb)

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
	not current_kib
	msg := sprintf("invalid currentSizeInKb %v: expected a non-negative integer number of KiB", [json.marshal(object.get(input, ["request", "currentSizeInKb"], null))])
}

deny contains msg if {
	requested_kib < current_kib
	msg := sprintf("volume %v cannot shrink: it is %v Kb, the request asks for %v Kb", [input.request.name, current_kib, requested_kib])
}

deny contains msg if {
	requested_kib
	count(permitted_roles) == 0
	msg := sprintf("no roles in [%v] allow the %v Kb expansion of %v on %v/%v/%v", [
		common.claimed_roles_text, input.request.volumeSizeInKb, input.request.name,
		input.systemtype, input.storagesystemid, input.storagepool,
	])
}

deny contains msg if {
	some msg in common.invalid_quota_messages(input.systemtype, input.storagesystemid, input.storagepool)
}
