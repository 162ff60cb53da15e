# karavi.volumes.delete|map|unmap and karavi.sdc.approve: Dell's decision documents.
package karavi.volumes.ownership_test

import data.karavi.sdc.approve
import data.karavi.volumes.delete
import data.karavi.volumes.map
import data.karavi.volumes.unmap

roles := {"r": {"system_types": {"powerflex": {"system_ids": {"2222": {"pool_quotas": {"bronze": 0}}}}}}}

claims := {"group": "DevOpsGroup1", "roles": "r", "sub": "csm-tenant"}

test_delete_allowed_and_claims_returned if {
	result := delete with input as {"claims": claims} with data.karavi.common.roles as roles
	result.response == {"allowed": true}
	result.claims.group == "DevOpsGroup1"
}

test_map_allowed if {
	map.response == {"allowed": true} with input as {"claims": claims} with data.karavi.common.roles as roles
}

test_unmap_allowed if {
	unmap.response == {"allowed": true} with input as {"claims": claims} with data.karavi.common.roles as roles
}

test_delete_without_roles_denied if {
	result := delete with input as {"claims": claims} with data.karavi.common.roles as {}
	result.response == {"allowed": false, "status": {"reason": "no role data found"}}
}

test_map_without_claims_denied_with_empty_claims if {
	result := map with input as {} with data.karavi.common.roles as roles
	result.response == {"allowed": false, "status": {"reason": "missing claims"}}
	result.claims == {}
}

test_unmap_without_roles_or_claims_lists_both_reasons if {
	result := unmap with input as {"claims": {}}
	result.response == {"allowed": false, "status": {"reason": "missing claims, no role data found"}}
}

test_sdc_approve_allowed_without_roles if {
	result := approve with input as {"claims": claims} with data.karavi.common.roles as {}
	result.allow
	result.response == {"allowed": true}
	result.claims == claims
}

test_sdc_approve_without_claims_denied if {
	approve.response == {"allowed": false, "status": {"reason": "missing claims"}} with input as {}
}
