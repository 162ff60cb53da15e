# Pod-level mount authorization (CSI node proxy, NodePublishVolume). Not a Dell package: Dell never
# sees mounts. Input: {tenant, pod: {namespace, serviceAccount, name, uid}, volume: {id, name, owner,
# pvcNamespace}, mountNamespaces} — `tenant` is the tenant of the node plugin's cluster, `owner`
# the tenant the ledger charges for the volume ("" when it charges none), `mountNamespaces` the
# namespaces that cluster's trust lists (absent: every namespace). Decision: {allow, deny[]}.
# (sprintf runs in opa-wasm's JavaScript builtins, which have no %q: quotes are written out.)
package storage_authz.mount

default allow := false

# Fail closed: an input without a tenant, or a volume without an owner, never allows.
allow if {
	count(deny) == 0
	is_string(input.tenant)
	input.tenant != ""
	input.volume.owner == input.tenant
}

deny contains msg if {
	input.volume.owner != input.tenant
	input.volume.owner != ""
	msg := sprintf("volume \"%s\" belongs to tenant \"%s\", not to tenant \"%s\"", [input.volume.id, input.volume.owner, input.tenant])
}

deny contains msg if {
	input.volume.owner == ""
	msg := sprintf("volume \"%s\" is not charged to any tenant: only volumes created through storage-authz can be mounted", [input.volume.id])
}

deny contains msg if {
	input.mountNamespaces
	not input.pod.namespace in input.mountNamespaces
	msg := sprintf("pods of namespace \"%s\" may not mount volumes of tenant \"%s\" (allowed: %s)", [input.pod.namespace, input.tenant, concat(", ", input.mountNamespaces)])
}
