// The mount decision `serve` gives the CSI node proxy (POST /proxy/mount/ on the admin listener).
// The caller is the node plugin's proxy, authenticated like any tenant request (its own projected
// service-account token, one of the tenant's subjects, or a Dell token): that fixes the tenant whose
// cluster the pod runs in. The pod's own token (kubelet's CSIServiceAccountToken) must then verify
// against a cluster the same tenant trusts, and name the pod kubelet described. The volume's owner
// comes from the ledger (the array gives the name the ledger keys it by); the Rego package
// storage_authz.mount decides. Every decision is logged as an audit record; tokens never are.
import { isRejection } from '../pipeline/response/deny.js';
import { identify, type ServiceAccountVerifying, type TokenVerifying } from '../pipeline/identity/identity.js';
import type { PolicyEngine } from '../pipeline/policy/types.js';
import type { AdapterRegistry } from '../arrays/registry.js';
import type { Ledger } from '../ledger/types.js';
import type { ResourceSource, StorageSystem } from '../resources/types.js';
import type { Logger } from '../telemetry/log.js';
import type { ServiceAccountVerifier } from '../tokens/serviceAccount.js';
import { TokenError } from '../tokens/verify.js';
import { readVolumeHandle, type VolumeHandle } from './volumeHandles.js';

export interface MountPod {
  namespace: string;
  name: string;
  uid: string;
  serviceAccount: string;
}

export interface MountRequest {
  /** The pod's service-account token for our audience. */
  token: string;
  pod: MountPod;
  /** The CSI volume handle (NodePublishVolumeRequest.volume_id). */
  volumeId: string;
}

export interface MountDecision {
  allowed: boolean;
  /** Short machine-readable reason, e.g. 'mount-allowed', 'pod-token-expired', 'mount-denied'. */
  reason: string;
  message: string;
}

export interface MountDeps {
  verifier: TokenVerifying;
  serviceAccounts: ServiceAccountVerifying & Pick<ServiceAccountVerifier, 'verifyWorkload'>;
  resources: ResourceSource;
  adapters: AdapterRegistry;
  ledger: Ledger;
  policy: PolicyEngine;
  logger: Logger;
}

/** A refusal of the caller itself (bad credentials, our outage): an HTTP status, not a decision. */
export class MountCallerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'MountCallerError';
  }
}

const denied = (reason: string, message: string): MountDecision => ({ allowed: false, reason, message });

export async function decideMount(deps: MountDeps, authorization: string | undefined, request: MountRequest): Promise<MountDecision> {
  const resources = deps.resources.current();
  const caller = await identify(authorization, deps.verifier, resources, deps.serviceAccounts);
  if (isRejection(caller)) throw new MountCallerError(caller.status, caller.message);
  const { tenant } = caller;
  const audit = (decision: MountDecision): MountDecision => {
    deps.logger.info({ decision: 'mount', tenant: tenant.name, pod: request.pod, volumeId: request.volumeId, allowed: decision.allowed, reason: decision.reason, message: decision.message }, 'mount decision');
    return decision;
  };

  let podClaims: Record<string, unknown>;
  let mountNamespaces: string[] | undefined;
  try {
    const verified = await deps.serviceAccounts.verifyWorkload(request.token, tenant);
    podClaims = verified.payload;
    mountNamespaces = verified.identity.mountNamespaces;
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    if (error.code === 'keys-unavailable') throw new MountCallerError(503, error.message);
    return audit(denied(`pod-token-${error.code}`, `pod token: ${error.message}`));
  }
  const expectedSubject = `system:serviceaccount:${request.pod.namespace}:${request.pod.serviceAccount}`;
  if (podClaims.sub !== expectedSubject) {
    return audit(denied('pod-token-other-pod', `pod token is for "${String(podClaims.sub)}", not for the pod's service account "${expectedSubject}"`));
  }
  // A bound token (TokenRequest with the pod as boundObjectRef, as kubelet asks) names the pod.
  const boundPod = (podClaims['kubernetes.io'] as { pod?: { uid?: unknown } } | undefined)?.pod;
  if (boundPod?.uid !== undefined && boundPod.uid !== request.pod.uid) {
    return audit(denied('pod-token-other-pod', `pod token is bound to pod uid ${String(boundPod.uid)}, not ${request.pod.uid}`));
  }

  const located = locate(request.volumeId, [...resources.storage.values()]);
  if (!located) return audit(denied('unknown-volume', `volume handle "${request.volumeId}" names no configured storage system`));
  const { system, handle } = located;
  const { volumeId } = handle;
  const adapter = deps.adapters.get(system.type);
  if (!adapter) return audit(denied('unknown-volume', `array type ${system.type} is not supported`));
  let name: string;
  try {
    ({ name } = await adapter.volume(system, await deps.resources.credentials(system), volumeId));
  } catch (error) {
    deps.logger.warn({ err: (error as Error).message, storage: system.name, volumeId }, 'mount decision: volume lookup failed');
    throw new MountCallerError(503, `volume ${request.volumeId} could not be looked up on storage "${system.name}"`);
  }
  if (handle.names && !handle.names(name)) {
    return audit(denied('unknown-volume', `volume handle "${request.volumeId}" names another volume than "${name}", which the array now has under that id`));
  }
  const owner = (await deps.ledger.volumes()).find((row) => row.systemType === system.type && row.systemID === system.systemID && row.volume === name)?.tenant ?? '';

  const input = {
    tenant: tenant.name,
    pod: request.pod,
    volume: { id: request.volumeId, name, owner },
    ...(mountNamespaces ? { mountNamespaces } : {}),
  };
  const result = deps.policy.evaluate('storage_authz/mount', input);
  if (result.allow === true) return audit({ allowed: true, reason: 'mount-allowed', message: `pod ${request.pod.namespace}/${request.pod.name} may mount volume ${request.volumeId}` });
  const reasons = Array.isArray(result.deny) ? (result.deny as unknown[]).map(String) : [];
  return audit(denied('mount-denied', reasons.length ? reasons.join('; ') : `pod ${request.pod.namespace}/${request.pod.name} may not mount volume ${request.volumeId}`));
}

function locate(volumeHandle: string, systems: StorageSystem[]): { system: StorageSystem; handle: VolumeHandle } | undefined {
  for (const system of systems) {
    const handle = readVolumeHandle(system.type, volumeHandle);
    if (handle && handle.systemID === system.systemID) return { system, handle };
  }
  return undefined;
}
