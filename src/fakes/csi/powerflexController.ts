// The Controller service of the fake CSI plugin, provisioning on a PowerFlex system the way
// csi-powerflex does: every array call goes over the tenant's path (through storage-authz, with the
// tenant's token), so the volumes it creates are the tenant's in the ledger, as a real driver's are.
// Volume handles are csi-powerflex's "<systemID>-<volumeID>"; sizes are PowerFlex's 8 GiB units.
// StorageClass parameters (`storagepool` names the pool) come back as the volume context, as the
// driver echoes them, so whatever the test puts there reaches NodeStage/NodePublish.
import * as grpc from '@grpc/grpc-js';
import { waitFor } from '../../harness/wait.js';
import type { PowerFlexDriver, Reply as ArrayReply } from '../../demo/driver.js';
import { fail, missingField, ok, type CsiRequest, type Reply } from './reply.js';

const GIB = 1024 ** 3;
/** PowerFlex allocates volumes in 8 GiB units. */
const UNIT_BYTES = 8 * GIB;

/** What the controller needs of a PowerFlex client on the tenant's path. */
export type PowerFlexArray = Pick<PowerFlexDriver, 'createVolume' | 'getVolume' | 'deleteVolume' | 'mapVolume' | 'unmapVolume' | 'expandVolume' | 'send'>;

/** The node side learns of a mapping as the SDC would: the device appears (or goes) on that node. */
export interface Attachments {
  nodeId: string;
  attach(volumeId: string, capacityBytes: number): void;
  resize(volumeId: string, capacityBytes: number): void;
  detach(volumeId: string): void;
}

interface Created {
  volumeId: string;
  capacityBytes: number;
  context: Record<string, string>;
}

interface ArrayVolume {
  id: string;
  name: string;
  sizeInKb: number;
  mappedSdcInfo?: { sdcId: string }[];
}

export class FakePowerFlexController {
  /** CreateVolume's idempotency: the request name → what was created for it. */
  private readonly byName = new Map<string, Created>();

  constructor(
    private readonly array: PowerFlexArray,
    private readonly systemId: string,
    private readonly node: Attachments,
  ) {}

  capabilities(): Reply {
    return ok({ capabilities: ['CREATE_DELETE_VOLUME', 'PUBLISH_UNPUBLISH_VOLUME', 'EXPAND_VOLUME'].map((type) => ({ rpc: { type } })) });
  }

  async create(request: CsiRequest): Promise<Reply> {
    const missing = missingField(request, ['name', 'volume_capabilities']);
    if (missing) return missing;
    const name = String(request.name);
    const parameters = (request.parameters ?? {}) as Record<string, string>;
    const poolName = parameters.storagepool;
    if (!poolName) return fail(grpc.status.INVALID_ARGUMENT, 'parameter storagepool is required');
    const range = request.capacity_range as { required_bytes?: string; limit_bytes?: string } | null;
    const required = Number(range?.required_bytes ?? 0);
    const limit = Number(range?.limit_bytes ?? 0);
    const capacityBytes = Math.max(1, Math.ceil(required / UNIT_BYTES)) * UNIT_BYTES;
    if (limit > 0 && capacityBytes > limit) return fail(grpc.status.OUT_OF_RANGE, `PowerFlex allocates 8 GiB units: ${capacityBytes} bytes exceeds limit_bytes ${limit}`);

    const existing = this.byName.get(name);
    if (existing) {
      if (existing.capacityBytes < required || (limit > 0 && existing.capacityBytes > limit)) {
        return fail(grpc.status.ALREADY_EXISTS, `volume ${name} exists with ${existing.capacityBytes} bytes, incompatible with the requested capacity`);
      }
      return ok({ volume: this.volumeOf(existing) });
    }
    const pools = await this.retried(() => this.array.send('GET', '/api/types/StoragePool/instances/'));
    if (pools.status !== 200) return arrayError(pools, 'listing storage pools');
    const pool = (pools.body as { id: string; name: string }[]).find((candidate) => candidate.name === poolName);
    if (!pool) return fail(grpc.status.INVALID_ARGUMENT, `storage pool ${poolName} does not exist on system ${this.systemId}`);
    const reply = await this.retried(() => this.array.createVolume(name, pool.id, capacityBytes / 1024));
    if (reply.status !== 200) return arrayError(reply, `creating volume ${name}`);
    const created = { volumeId: `${this.systemId}-${(reply.body as { id: string }).id}`, capacityBytes, context: { ...parameters } };
    this.byName.set(name, created);
    return ok({ volume: this.volumeOf(created) });
  }

  async delete(request: CsiRequest): Promise<Reply> {
    const missing = missingField(request, ['volume_id']);
    if (missing) return missing;
    const volumeId = String(request.volume_id);
    const found = await this.lookup(volumeId);
    // The spec: deleting a volume that does not exist succeeds.
    if (found === 'not-found') return ok();
    if (!('id' in found)) return found;
    const reply = await this.retried(() => this.array.deleteVolume(found.id));
    if (reply.status !== 200) return arrayError(reply, `deleting volume ${volumeId}`);
    for (const [name, created] of this.byName) if (created.volumeId === volumeId) this.byName.delete(name);
    return ok();
  }

  async publish(request: CsiRequest): Promise<Reply> {
    const missing = missingField(request, ['volume_id', 'node_id', 'volume_capability']);
    if (missing) return missing;
    const volumeId = String(request.volume_id);
    const found = await this.lookup(volumeId);
    if (found === 'not-found') return fail(grpc.status.NOT_FOUND, `volume ${volumeId} does not exist`);
    if (!('id' in found)) return found;
    const sdc = await this.sdcOf(String(request.node_id));
    if (sdc === 'not-found') return fail(grpc.status.NOT_FOUND, `node ${String(request.node_id)} is no SDC of system ${this.systemId}`);
    if (!('id' in sdc)) return sdc;
    if (!found.mappedSdcInfo?.some((mapping) => mapping.sdcId === sdc.id)) {
      const reply = await this.retried(() => this.array.mapVolume(found.id, sdc.id));
      if (reply.status !== 200) return arrayError(reply, `mapping volume ${volumeId} to SDC ${sdc.id}`);
    }
    if (request.node_id === this.node.nodeId) this.node.attach(volumeId, found.sizeInKb * 1024);
    return ok({ publish_context: {} });
  }

  async unpublish(request: CsiRequest): Promise<Reply> {
    const missing = missingField(request, ['volume_id', 'node_id']);
    if (missing) return missing;
    const volumeId = String(request.volume_id);
    const found = await this.lookup(volumeId);
    // The spec: a volume or node that cannot be found is unpublished from it already.
    if (found === 'not-found') return ok();
    if (!('id' in found)) return found;
    const sdc = await this.sdcOf(String(request.node_id));
    if (sdc === 'not-found') return ok();
    if (!('id' in sdc)) return sdc;
    if (found.mappedSdcInfo?.some((mapping) => mapping.sdcId === sdc.id)) {
      const reply = await this.retried(() => this.array.unmapVolume(found.id, sdc.id));
      if (reply.status !== 200) return arrayError(reply, `unmapping volume ${volumeId} from SDC ${sdc.id}`);
    }
    if (request.node_id === this.node.nodeId) this.node.detach(volumeId);
    return ok();
  }

  async expand(request: CsiRequest): Promise<Reply> {
    const missing = missingField(request, ['volume_id', 'capacity_range']);
    if (missing) return missing;
    const volumeId = String(request.volume_id);
    const found = await this.lookup(volumeId);
    if (found === 'not-found') return fail(grpc.status.NOT_FOUND, `volume ${volumeId} does not exist`);
    if (!('id' in found)) return found;
    const required = Number((request.capacity_range as { required_bytes?: string }).required_bytes ?? 0);
    const capacityBytes = Math.ceil(required / UNIT_BYTES) * UNIT_BYTES;
    if (capacityBytes <= found.sizeInKb * 1024) return ok({ capacity_bytes: found.sizeInKb * 1024, node_expansion_required: true });
    // storage-authz answers 409 while the volume's create is still settling in its ledger (the
    // array's answer reaches it through Envoy's access log): retried, as external-resizer would.
    const reply = await this.retried(() => this.array.expandVolume(found.id, capacityBytes / GIB), [409, 503]);
    if (reply.status !== 200) return arrayError(reply, `expanding volume ${volumeId}`);
    for (const created of this.byName.values()) if (created.volumeId === volumeId) created.capacityBytes = capacityBytes;
    this.node.resize(volumeId, capacityBytes);
    return ok({ capacity_bytes: capacityBytes, node_expansion_required: true });
  }

  async validate(request: CsiRequest): Promise<Reply> {
    const missing = missingField(request, ['volume_id', 'volume_capabilities']);
    if (missing) return missing;
    const found = await this.lookup(String(request.volume_id));
    if (found === 'not-found') return fail(grpc.status.NOT_FOUND, `volume ${String(request.volume_id)} does not exist`);
    if (!('id' in found)) return found;
    return ok({ confirmed: { volume_context: request.volume_context, volume_capabilities: request.volume_capabilities, parameters: request.parameters } });
  }

  /**
   * An array call, again while storage-authz answers `statuses`: 503 when the edge has no serving
   * decision service for a moment (never forwarded to the array). In a cluster the CSI sidecars
   * (external-provisioner, -attacher, -resizer) retry the driver's Unavailable; csi-sanity does not,
   * so the fake retries for it, bounded.
   */
  private async retried(call: () => Promise<ArrayReply>, statuses: readonly number[] = [503]): Promise<ArrayReply> {
    let reply!: ArrayReply;
    await waitFor(async () => !statuses.includes((reply = await call()).status), 'storage-authz to answer other than ' + statuses.join('/'), 15_000, 100);
    return reply;
  }

  private volumeOf(created: Created): Record<string, unknown> {
    return { volume_id: created.volumeId, capacity_bytes: String(created.capacityBytes), volume_context: created.context };
  }

  /** The array's volume behind a handle; 'not-found' for a handle of another system or an id the array does not have. */
  private async lookup(volumeId: string): Promise<ArrayVolume | 'not-found' | Reply> {
    const prefix = `${this.systemId}-`;
    if (!volumeId.startsWith(prefix)) return 'not-found';
    const reply = await this.retried(() => this.array.getVolume(volumeId.slice(prefix.length)));
    if (reply.status === 200) return reply.body as ArrayVolume;
    if (isArrayNotFound(reply)) return 'not-found';
    return arrayError(reply, `reading volume ${volumeId}`);
  }

  /** csi-powerflex's node id is the SDC's GUID; the mapping names the SDC's id. */
  private async sdcOf(nodeId: string): Promise<{ id: string } | 'not-found' | Reply> {
    const reply = await this.retried(() => this.array.send('GET', '/api/types/Sdc/instances/'));
    if (reply.status !== 200) return arrayError(reply, 'listing SDCs');
    const sdc = (reply.body as { id: string; sdcGuid: string }[]).find((candidate) => candidate.sdcGuid === nodeId);
    return sdc ?? 'not-found';
  }
}

/** PowerFlex's "Could not find the volume" (HTTP 500, errorCode 79), the string csi-powerflex keys on. */
function isArrayNotFound(reply: ArrayReply): boolean {
  return reply.status === 500 && (reply.body as { errorCode?: unknown } | null)?.errorCode === 79;
}

/** An answer of the array or of storage-authz in front of it, as the gRPC status a CSI driver gives. */
function arrayError(reply: ArrayReply, doing: string): Reply {
  const body = reply.body as { message?: unknown; error?: unknown } | string | null;
  const message = typeof body === 'string' ? body : String(body?.message ?? body?.error ?? JSON.stringify(body));
  const code =
    reply.status === 400 ? grpc.status.INVALID_ARGUMENT
    : reply.status === 401 ? grpc.status.UNAUTHENTICATED
    : reply.status === 403 ? grpc.status.PERMISSION_DENIED
    : reply.status === 404 || isArrayNotFound(reply) ? grpc.status.NOT_FOUND
    : reply.status === 409 ? grpc.status.ABORTED
    : reply.status === 429 || reply.status === 507 ? grpc.status.RESOURCE_EXHAUSTED
    : reply.status === 500 && (reply.body as { errorCode?: unknown } | null)?.errorCode === 108 ? grpc.status.FAILED_PRECONDITION
    : grpc.status.UNAVAILABLE;
  return fail(code, `${doing}: HTTP ${reply.status}: ${message}`);
}
