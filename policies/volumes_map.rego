# Volume map: Dell keeps a separate package with the same input and rules as karavi.volumes.delete
# (roles configured, claims present; ownership is the ledger's job), so this one re-exports it.
package karavi.volumes.map

import data.karavi.volumes.delete

claims := delete.claims

deny := delete.deny

response := delete.response
