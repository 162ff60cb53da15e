# Dell's snapshot-create-test.rego scenarios (quotas stored as numbers), plus the fixes made here.
package karavi.snapshot.create_test

import data.karavi.snapshot.create

claims(role_list) := {"group": "DevOpsGroup1", "roles": role_list, "sub": "csm-tenant"}

snapshot(name, pool) := {
	"name": name, "protectionDomainId": "6b2ffe6c00000000", "storagePoolId": "ae376b0300000000",
	"volumeSizeInKb": "8388608", "volumeType": "ThinProvisioned", "storagepool": pool,
}

request(role_list, snapshots) := {
	"claims": claims(role_list),
	"request": snapshots,
	"storagesystemid": "2222",
	"systemtype": "powerflex",
}

one_role := {"us-east-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": 44000000}}}}}}}

two_roles := {
	"us-east-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": 44000000, "silver": 88000000}}}}}},
	"us-west-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"silver": 83886080}}}}}},
}

small_silver := {
	"us-east-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": 44000000}}}}}},
	"us-west-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"silver": 4000000}}}}}},
}

test_snapshot_simple_request_allowed if {
	result := create with input as request("us-east-1", [snapshot("k8s-0fc0695994-snapshot", "bronze")])
		with data.karavi.common.roles as one_role
	result.allow
	result.permitted_roles == {"k8s-0fc0695994-snapshot": [{"role": "us-east-1", "size": 44000000, "storagepool": "bronze"}]}
}

test_snapshot_multi_role_request_allowed if {
	create.allow with input as request("us-east-1,us-west-1", [snapshot("k8s-0fc0695994-snapshot", "bronze")])
		with data.karavi.common.roles as two_roles
}

test_snapshot_multi_request_allowed if {
	snaps := [snapshot("k8s-0fc0695994-snapshot", "bronze"), snapshot("k8s-0fc0695995-snapshot", "bronze")]
	create.allow with input as request("us-east-1,us-west-1", snaps) with data.karavi.common.roles as one_role
}

test_snapshot_multi_request_multi_role_allowed if {
	snaps := [snapshot("k8s-0fc0695994-snapshot", "bronze"), snapshot("k8s-0fc0695995-snapshot", "silver")]
	result := create with input as request("us-east-1,us-west-1", snaps) with data.karavi.common.roles as two_roles
	result.allow
	result.permitted_roles["k8s-0fc0695995-snapshot"] == [
		{"role": "us-east-1", "size": 88000000, "storagepool": "silver"},
		{"role": "us-west-1", "size": 83886080, "storagepool": "silver"},
	]
}

test_snapshot_empty_request_allowed if {
	create.allow with input as request("us-east-1", []) with data.karavi.common.roles as one_role
}

test_snapshot_infinite_quota_allowed if {
	unlimited := {"us-east-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": 0}}}}}}}
	snaps := [snapshot("k8s-0fc0695994-snapshot", "bronze"), snapshot("k8s-0fc0695995-snapshot", "bronze")]
	create.allow with input as request("us-east-1", snaps) with data.karavi.common.roles as unlimited
}

test_snapshot_deny_role_with_insufficient_quota if {
	tiny := {"us-east-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": 10}}}}}}}
	result := create with input as request("us-east-1", [snapshot("k8s-0fc0695994-snapshot", "bronze")])
		with data.karavi.common.roles as tiny
	not result.allow
	result.deny == {"no roles in [us-east-1] allow the 8388608 Kb request on powerflex/2222/bronze for k8s-0fc0695994-snapshot"}
}

test_snapshot_deny_multiple_roles_with_not_permitted_pool if {
	snaps := [snapshot("k8s-0fc0695994-snapshot", "bronze"), snapshot("k8s-0fc0695995-snapshot", "yellow")]
	result := create with input as request("us-east-1,us-west-1", snaps) with data.karavi.common.roles as small_silver
	not result.allow
	result.deny == {"no roles in [us-east-1,us-west-1] allow the 8388608 Kb request on powerflex/2222/yellow for k8s-0fc0695995-snapshot"}
}

test_snapshot_deny_multiple_roles_with_insufficient_quota if {
	snaps := [snapshot("k8s-0fc0695994-snapshot", "bronze"), snapshot("k8s-0fc0695995-snapshot", "silver")]
	result := create with input as request("us-east-1,us-west-1", snaps) with data.karavi.common.roles as small_silver
	not result.allow
	count(result.deny) == 1
}

test_snapshot_deny_empty_roles if {
	result := create with input as request("us-east-1", [snapshot("k8s-0fc0695994-snapshot", "bronze")])
		with data.karavi.common.roles as {}
	not result.allow
	result.deny["no configured roles"]
}

test_snapshot_each_unpermitted_snapshot_gets_its_own_message if {
	snaps := [snapshot("a", "yellow"), snapshot("b", "green")]
	result := create.deny with input as request("us-east-1", snaps) with data.karavi.common.roles as one_role
	result == {
		"no roles in [us-east-1] allow the 8388608 Kb request on powerflex/2222/yellow for a",
		"no roles in [us-east-1] allow the 8388608 Kb request on powerflex/2222/green for b",
	}
}

test_snapshot_numeric_string_quota_is_the_number if {
	string_quota := {"us-east-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": "44000000"}}}}}}}
	result := create with input as request("us-east-1", [snapshot("s", "bronze")])
		with data.karavi.common.roles as string_quota
	result.allow
	result.permitted_roles == {"s": [{"role": "us-east-1", "size": 44000000, "storagepool": "bronze"}]}
	small := {"us-east-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": "8388607"}}}}}}}
	refused := create with input as request("us-east-1", [snapshot("s", "bronze")]) with data.karavi.common.roles as small
	not refused.allow
	refused.deny == {"no roles in [us-east-1] allow the 8388608 Kb request on powerflex/2222/bronze for s"}
}

test_snapshot_non_digit_string_quota_denied if {
	unit_quota := {"us-east-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": "44 GB"}}}}}}}
	result := create with input as request("us-east-1", [snapshot("s", "bronze")])
		with data.karavi.common.roles as unit_quota
	not result.allow
	result.deny["invalid quota \"44 GB\" for role us-east-1 on powerflex/2222/bronze: a quota must be a non-negative whole number of KiB, or a string of digits (0 = unlimited)"]
}

test_snapshot_duplicate_names_denied if {
	result := create with input as request("us-east-1", [snapshot("s", "bronze"), snapshot("s", "bronze")])
		with data.karavi.common.roles as one_role
	not result.allow
	result.deny == {"duplicate snapshot name s in one request"}
}

test_snapshot_invalid_size_denied if {
	bad := object.union(snapshot("s", "bronze"), {"volumeSizeInKb": "lots"})
	result := create with input as request("us-east-1", [bad]) with data.karavi.common.roles as one_role
	not result.allow
	result.deny == {"invalid volumeSizeInKb \"lots\" for s: expected a non-negative integer number of KiB"}
}
