package karavi.volumes.create_test

import data.karavi.volumes.create
import data.karavi.volumes.powermax.create as powermax_create
import data.karavi.volumes.powerstore.create as powerstore_create

# Dell's fixture roles (volumes_create_test.rego), with us-east-1's quota stored as the number it
# means rather than Dell's string "44000000" (a digit string is read as that number too: see below).
roles := {
	"us-east-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": 44000000}}}}}},
	"us-west-1": {"system_types": {"powerflex": {"system_ids": {"1111": {"pool_quotas": {"bronze": 83886080}}}}}},
	"us-west-2-small": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": 83886080}}}}}},
	"us-west-2-large": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {
		"bronze": 838860800,
		"silver": 93886080000,
	}}}}}},
	"unlimited": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": 0}}}}}},
}

claims(role_list) := {
	"aud": "csm", "exp": 1615426023, "group": "DevOpsGroup1",
	"iss": "com.dell.csm", "roles": role_list, "sub": "csm-tenant",
}

# Dell's request fixture: a PowerFlex create body as the driver sends it (size is a string).
request(role_list, size, pool) := {
	"claims": claims(role_list),
	"request": {
		"name": "k8s-0fc0695995", "protectionDomainId": "6b2ffe6c00000000",
		"storagePoolId": "ae376b0300000000", "volumeSizeInKb": size,
		"volumeType": "ThinProvisioned",
	},
	"storagepool": pool,
	"storagesystemid": "2222",
	"systemtype": "powerflex",
}

# Dell: test_small_request_allowed
test_small_request_allowed if {
	create.allow with input as request("us-east-1", "8388608", "bronze") with data.karavi.common.roles as roles
}

test_small_request_permits_the_role_with_its_quota if {
	result := create.permitted_roles with input as request("us-east-1", "8388608", "bronze")
		with data.karavi.common.roles as roles
	result == {"us-east-1": 44000000}
}

# Dell: test_large_request_not_allowed
test_large_request_not_allowed if {
	not create.allow with input as request("us-west-2-small,us-west-2-large", "9999999999", "bronze")
		with data.karavi.common.roles as roles
}

test_large_request_denied_with_dells_message if {
	result := create.deny with input as request("us-west-2-small,us-west-2-large", "9999999999", "bronze")
		with data.karavi.common.roles as roles
	result == {"no roles in [us-west-2-small,us-west-2-large] allow the 9999999999 Kb request on powerflex/2222/bronze"}
}

test_numeric_size_allowed if {
	create.allow with input as request("us-east-1", 8388608, "bronze") with data.karavi.common.roles as roles
}

test_size_equal_to_quota_allowed if {
	create.allow with input as request("us-east-1", 44000000, "bronze") with data.karavi.common.roles as roles
}

test_size_one_over_quota_denied if {
	not create.allow with input as request("us-east-1", 44000001, "bronze") with data.karavi.common.roles as roles
}

test_unlimited_quota_allows_any_size if {
	result := create with input as request("unlimited", "99999999999999", "bronze")
		with data.karavi.common.roles as roles
	result.allow
	result.permitted_roles == {"unlimited": 0}
}

test_multiple_roles_all_permitting_roles_listed if {
	result := create.permitted_roles with input as request("us-west-2-small,us-west-2-large,unlimited", "8388608", "bronze")
		with data.karavi.common.roles as roles
	result == {"us-west-2-small": 83886080, "us-west-2-large": 838860800, "unlimited": 0}
}

test_multiple_roles_only_large_enough_ones_permitted if {
	result := create with input as request("us-west-2-small,us-west-2-large", "100000000", "bronze")
		with data.karavi.common.roles as roles
	result.allow
	result.permitted_roles == {"us-west-2-large": 838860800}
}

test_no_configured_roles_denied if {
	result := create with input as request("us-east-1", "8388608", "bronze") with data.karavi.common.roles as {}
	not result.allow
	result.deny["no configured roles"]
}

test_missing_roles_document_denied if {
	result := create with input as request("us-east-1", "8388608", "bronze")
	not result.allow
	result.deny["no configured roles"]
}

test_unknown_role_denied if {
	result := create with input as request("no-such-role", "8388608", "bronze") with data.karavi.common.roles as roles
	not result.allow
	result.deny == {"no roles in [no-such-role] allow the 8388608 Kb request on powerflex/2222/bronze"}
}

test_tenant_with_no_roles_denied if {
	result := create with input as request("", "8388608", "bronze") with data.karavi.common.roles as roles
	not result.allow
	result.deny == {"no roles in [] allow the 8388608 Kb request on powerflex/2222/bronze"}
}

test_claims_without_roles_denied if {
	result := create with input as json.remove(request("", "8", "bronze"), ["claims/roles"])
		with data.karavi.common.roles as roles
	not result.allow
	result.deny == {"no roles in [] allow the 8 Kb request on powerflex/2222/bronze"}
}

test_input_without_claims_denied if {
	result := create with input as object.remove(request("", "8", "bronze"), ["claims"])
		with data.karavi.common.roles as roles
	not result.allow
	result.deny == {"no roles in [] allow the 8 Kb request on powerflex/2222/bronze"}
}

test_pool_not_permitted_denied if {
	result := create with input as request("us-east-1", "8388608", "gold") with data.karavi.common.roles as roles
	not result.allow
	result.deny == {"no roles in [us-east-1] allow the 8388608 Kb request on powerflex/2222/gold"}
}

test_other_system_not_permitted if {
	# us-west-1 has bronze on system 1111 only.
	not create.allow with input as request("us-west-1", "8", "bronze") with data.karavi.common.roles as roles
}

test_numeric_string_quota_is_the_number_single_role if {
	# Dell's fixture form: to_number("44000000") is 44000000 KiB.
	string_quota := {"us-east-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": "44000000"}}}}}}}
	allowed := create with input as request("us-east-1", "44000000", "bronze") with data.karavi.common.roles as string_quota
	allowed.allow
	allowed.permitted_roles == {"us-east-1": 44000000}
	refused := create with input as request("us-east-1", "44000001", "bronze") with data.karavi.common.roles as string_quota
	not refused.allow
	refused.deny == {"no roles in [us-east-1] allow the 44000001 Kb request on powerflex/2222/bronze"}
}

test_numeric_string_quotas_multi_role_pick_the_permitting_ones if {
	# Dell's multi-role fixture with string quotas: the larger role permits, the smaller does not.
	string_roles := {
		"us-west-2-small": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": "83886080"}}}}}},
		"us-west-2-large": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": "167772160"}}}}}},
		"unlimited": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": "0"}}}}}},
	}
	result := create with input as request("us-west-2-small,us-west-2-large", "100000000", "bronze")
		with data.karavi.common.roles as string_roles
	result.allow
	result.permitted_roles == {"us-west-2-large": 167772160}
	over := create with input as request("us-west-2-small,us-west-2-large", "167772161", "bronze")
		with data.karavi.common.roles as string_roles
	not over.allow
	unlimited := create with input as request("us-west-2-small,unlimited", "99999999999999", "bronze")
		with data.karavi.common.roles as string_roles
	unlimited.allow
	unlimited.permitted_roles == {"unlimited": 0}
}

test_non_digit_string_quota_denied_even_for_a_small_request if {
	unit_quota := {"us-east-1": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": "44GB"}}}}}}}
	result := create with input as request("us-east-1", "8", "bronze") with data.karavi.common.roles as unit_quota
	not result.allow
	result.deny["invalid quota \"44GB\" for role us-east-1 on powerflex/2222/bronze: a quota must be a non-negative whole number of KiB, or a string of digits (0 = unlimited)"]
}

test_signed_or_exponent_string_quotas_denied if {
	every text in ["-1", "1e9", "1.5", " 8", "", "0x10"] {
		bad := {"r": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": text}}}}}}}
		result := create with input as request("r", "8", "bronze") with data.karavi.common.roles as bad
		not result.allow
		some msg in result.deny
		startswith(msg, sprintf("invalid quota %v for role r", [json.marshal(text)]))
	}
}

test_invalid_string_quota_in_one_role_denies_even_if_another_permits if {
	mixed := object.union(roles, {"bad": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": "unlimited"}}}}}}})
	result := create with input as request("us-east-1,bad", "8", "bronze") with data.karavi.common.roles as mixed
	not result.allow
	count(result.deny) == 1
}

test_negative_quota_denied if {
	negative := {"r": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": -1}}}}}}}
	not create.allow with input as request("r", "8", "bronze") with data.karavi.common.roles as negative
}

test_invalid_size_denied if {
	result := create with input as request("us-east-1", "8GiB", "bronze") with data.karavi.common.roles as roles
	not result.allow
	result.deny == {"invalid volumeSizeInKb \"8GiB\": expected a non-negative integer number of KiB"}
}

test_fractional_size_denied if {
	result := create with input as request("unlimited", 8.5, "bronze") with data.karavi.common.roles as roles
	not result.allow
	result.deny == {"invalid volumeSizeInKb 8.5: expected a non-negative integer number of KiB"}
}

test_negative_size_denied if {
	not create.allow with input as request("unlimited", -8, "bronze") with data.karavi.common.roles as roles
}

test_roles_read_from_the_data_document_set_by_the_service if {
	create.allow with input as request("us-east-1", "8388608", "bronze") with data.storage_authz.roles as roles
}

powermax_request(size) := {
	"claims": claims("pmax"),
	"request": {"volumeSizeInKb": size},
	"storagepool": "SRP_1",
	"storagesystemid": "000197900046",
	"systemtype": "powermax",
}

pmax_roles := {"pmax": {"system_types": {"powermax": {"system_ids": {"000197900046": {"pool_quotas": {"SRP_1": 2098560}}}}}}}

test_powermax_create_allowed if {
	result := powermax_create with input as powermax_request(1050240) with data.karavi.common.roles as pmax_roles
	result.allow
	result.permitted_roles == {"pmax": 2098560}
}

test_powermax_create_denied_with_numeric_size_in_message if {
	result := powermax_create with input as powermax_request(2100480) with data.karavi.common.roles as pmax_roles
	not result.allow
	result.deny == {"no roles in [pmax] allow the 2100480 Kb request on powermax/000197900046/SRP_1"}
}

powerstore_request(size) := {
	"claims": claims("pstore"),
	"request": {"name": "csi-vol", "size": size},
	"storagesystemid": "PS000000000001",
	"systemtype": "powerstore",
}

pstore_roles := {"pstore": {"system_types": {"powerstore": {"system_ids": {"PS000000000001": {"pool_quotas": {"PS000000000001": 10485760}}}}}}}

test_powerstore_quota_keyed_by_system_id if {
	result := powerstore_create with input as powerstore_request(8388608) with data.karavi.common.roles as pstore_roles
	result.allow
	result.permitted_roles == {"pstore": 10485760}
}

test_powerstore_over_quota_denied_with_dells_message if {
	result := powerstore_create with input as powerstore_request(10485761) with data.karavi.common.roles as pstore_roles
	not result.allow
	result.deny == {"no roles in [pstore] allow the 10485761 Kb request on powerstore/PS000000000001/"}
}
