# Snapshot create (one or more snapshots in one array request): every snapshot must fit the quota
# of at least one claimed role on its source volume's pool. input.request is an array of
# {name, volumeSizeInKb, storagepool, ...}; an empty array is allowed, as in Dell's policy.
package karavi.snapshot.create

import data.karavi.common

# Snapshot names that appear more than once: they cannot be told apart in permitted_roles.
duplicate_names contains name if {
	some i, j
	input.request[i].name == input.request[j].name
	i != j
	name := input.request[i].name
}

# {<snapshot name>: [{size: <quota>, storagepool, role}, ...]} for each snapshot some role permits.
permitted_roles[req.name] := roles if {
	some req in input.request
	not duplicate_names[req.name]
	size := common.requested_kib(req.volumeSizeInKb)
	roles := [{"size": quota, "storagepool": req.storagepool, "role": role} |
		some role, quota in common.permitted_quotas(input.systemtype, input.storagesystemid, req.storagepool, size)
	]
	count(roles) != 0
}

default allow := false

allow if {
	count(permitted_roles) == count(input.request)
	count(deny) == 0
}

deny contains "no configured roles" if common.roles == {}

deny contains msg if {
	some name in duplicate_names
	msg := sprintf("duplicate snapshot name %v in one request", [name])
}

deny contains msg if {
	some req in input.request
	not common.requested_kib(req.volumeSizeInKb)
	msg := sprintf("invalid volumeSizeInKb %v for %v: expected a non-negative integer number of KiB", [
		json.marshal(req.volumeSizeInKb), req.name,
	])
}

# Dell builds this message from three independent iterations over the unpermitted requests, which
# mixes sizes, pools and names of different snapshots; here each message describes one snapshot.
deny contains msg if {
	some req in input.request
	not duplicate_names[req.name]
	common.requested_kib(req.volumeSizeInKb)
	not permitted_roles[req.name]
	msg := sprintf("no roles in [%v] allow the %v Kb request on %v/%v/%v for %v", [
		common.claimed_roles_text, req.volumeSizeInKb,
		input.systemtype, input.storagesystemid, req.storagepool, req.name,
	])
}

deny contains msg if {
	some req in input.request
	some msg in common.invalid_quota_messages(input.systemtype, input.storagesystemid, req.storagepool)
}
