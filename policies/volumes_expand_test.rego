package karavi.volumes.expand_test

import data.karavi.volumes.expand

roles := {
	"small": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": 16777216}}}}}},
	"large": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": 67108864}}}}}},
	"unlimited": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": 0}}}}}},
}

request(role_list, current, new) := {
	"claims": {"aud": "csm", "exp": 1615426023, "group": "team-a", "iss": "com.dell.csm", "roles": role_list, "sub": "csm-tenant"},
	"request": {"name": "k8s-0fc0695995", "volumeSizeInKb": new, "currentSizeInKb": current},
	"storagepool": "bronze",
	"storagesystemid": "2222",
	"systemtype": "powerflex",
}

test_growth_within_a_role_quota_allowed if {
	result := expand with input as request("small", 8388608, 16777216) with data.karavi.common.roles as roles
	result.allow
	result.permitted_roles == {"small": 16777216}
	result.deny == set()
}

test_every_permitting_role_listed if {
	result := expand.permitted_roles with input as request("small,large,unlimited", 8388608, 16777216)
		with data.karavi.common.roles as roles
	result == {"small": 16777216, "large": 67108864, "unlimited": 0}
}

test_new_size_over_every_quota_denied_with_a_dell_style_message if {
	result := expand with input as request("small", 8388608, 25165824) with data.karavi.common.roles as roles
	not result.allow
	result.deny == {"no roles in [small] allow the 25165824 Kb expansion of k8s-0fc0695995 on powerflex/2222/bronze"}
}

test_unlimited_quota_allows_any_growth if {
	expand.allow with input as request("unlimited", 8388608, 99999999999) with data.karavi.common.roles as roles
}

test_shrink_denied_with_a_clear_message if {
	result := expand with input as request("large", 16777216, 8388608) with data.karavi.common.roles as roles
	not result.allow
	result.deny == {"volume k8s-0fc0695995 cannot shrink: it is 16777216 Kb, the request asks for 8388608 Kb"}
}

test_same_size_allowed if {
	expand.allow with input as request("small", 16777216, 16777216) with data.karavi.common.roles as roles
}

test_string_sizes_as_the_driver_sends_them if {
	expand.allow with input as request("small", "8388608", "16777216") with data.karavi.common.roles as roles
}

test_no_roles_denied if {
	result := expand with input as request("", 8388608, 16777216) with data.karavi.common.roles as {}
	not result.allow
	"no configured roles" in result.deny
}

test_missing_current_size_denied if {
	result := expand with input as {
		"claims": {"roles": "small"}, "request": {"name": "v", "volumeSizeInKb": 16777216},
		"storagepool": "bronze", "storagesystemid": "2222", "systemtype": "powerflex",
	}
		with data.karavi.common.roles as roles
	not result.allow
	"invalid currentSizeInKb null: expected a non-negative integer number of KiB" in result.deny
}
