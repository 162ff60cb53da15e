# Volume create on PowerMax: Dell keeps a separate package with the same input and logic as
# karavi.volumes.create (pool = SRP, volumeSizeInKb a number), so this one re-exports it.
package karavi.volumes.powermax.create

import data.karavi.volumes.create

permitted_roles := create.permitted_roles

allow := create.allow

deny := create.deny
