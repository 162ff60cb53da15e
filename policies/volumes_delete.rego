# Volume delete (map and unmap re-export it): only checks that roles are configured and the token's
# claims are present; ownership is decided by the ledger. The decision service reads
# response.allowed, response.status.reason and claims.group (an empty group means an invalid token).
package karavi.volumes.delete

import data.karavi.common

default claims := {}

claims := input.claims

deny contains "no role data found" if common.roles == {}

deny contains "missing claims" if claims == {}

default response := {"allowed": true}

response := common.denied_response(deny) if count(deny) != 0
