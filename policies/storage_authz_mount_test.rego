package storage_authz.mount_test

import data.storage_authz.mount

pod := {"namespace": "apps", "serviceAccount": "web", "name": "web-0", "uid": "u1"}

test_own_volume_any_namespace_allowed if {
	mount.allow with input as {"tenant": "a", "pod": pod, "volume": {"id": "s-1", "owner": "a"}}
}

test_other_tenants_volume_denied if {
	not mount.allow with input as {"tenant": "a", "pod": pod, "volume": {"id": "s-1", "owner": "b"}}
	mount.deny == {`volume "s-1" belongs to tenant "b", not to tenant "a"`} with input as {"tenant": "a", "pod": pod, "volume": {"id": "s-1", "owner": "b"}}
}

test_uncharged_volume_denied if {
	not mount.allow with input as {"tenant": "a", "pod": pod, "volume": {"id": "s-9", "owner": ""}}
}

test_listed_namespace_allowed if {
	mount.allow with input as {"tenant": "a", "pod": pod, "volume": {"id": "s-1", "owner": "a"}, "mountNamespaces": ["apps", "db"]}
}

test_unlisted_namespace_denied if {
	mount.deny == {`pods of namespace "apps" may not mount volumes of tenant "a" (allowed: db)`} with input as {"tenant": "a", "pod": pod, "volume": {"id": "s-1", "owner": "a"}, "mountNamespaces": ["db"]}
}

test_missing_input_denied if {
	not mount.allow with input as {}
}
