// The sidecar's Check, asked only while the token Envoy injects is about to expire or has expired
// (tokenFeed.ts switches it on): the request waits for the refresh on its way and leaves with the
// successor, or is refused here (fail closed) with the reason, instead of reaching the edge with a
// token that would only be rejected there.
import { jsonDeny, reject } from '../pipeline/response/deny.js';
import type { Decision, RequestView } from '../pipeline/types.js';
import type { AccessTokenSource } from './tokenHolder.js';

// The driver's own credentials are placeholders (its secret's username/password, or the session it
// got from the locally answered login); they must not travel further. The route removes them too.
export const DRIVER_CREDENTIAL_HEADERS = ['cookie', 'x-csrf-token', 'proxy-authorization'];

export function sidecarDecide(tokens: AccessTokenSource): (request: RequestView) => Promise<Decision> {
  return async () => {
    const token = await tokens.awaitToken();
    if (token.kind === 'unavailable') {
      return jsonDeny(reject(503, 'no-access-token', `storage-authz sidecar has no valid access token: ${token.reason}`));
    }
    return {
      kind: 'allow',
      setHeaders: [{ name: 'authorization', value: `Bearer ${token.accessToken}` }],
      removeHeaders: DRIVER_CREDENTIAL_HEADERS,
      metadata: {},
    };
  };
}
