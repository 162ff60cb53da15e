# SDC approval on PowerFlex: the policy only requires claims; the real gate is the tenant's
# approveSdc setting, checked by the decision service.
package karavi.sdc.approve

import data.karavi.common

default allow := true

default claims := {}

claims := input.claims

deny contains "missing claims" if claims == {}

default response := {"allowed": true}

response := common.denied_response(deny) if count(deny) != 0
