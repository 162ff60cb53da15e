// Operation phase (pure): the adapter classifies method + normalised path + body. Requests the
// adapter cannot place are refused here, so only known operations reach enrich, policy and ledger.
import type { ArrayAdapter, Classified } from '../../arrays/types.js';
import type { RequestView } from '../types.js';
import { reject, type Rejection } from '../response/deny.js';

export function classifyRequest(adapter: ArrayAdapter, request: RequestView, systemID: string): Classified | Rejection {
  const classified = adapter.classify(request, systemID);
  const { operation } = classified;
  if (operation.kind === 'invalid') return reject(operation.status, 'invalid-request', operation.message);
  if (operation.kind === 'unknown-mutation') {
    // Fail closed: a mutation nobody taught us to check is a mutation nobody can account for.
    return reject(403, 'unknown-mutation', `request denied: ${request.method} ${classified.path} is not a recognised operation`);
  }
  return classified;
}
