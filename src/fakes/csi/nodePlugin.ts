// A fake CSI node plugin (Identity + Node services of the CSI spec) on a unix socket: it records
// every call, so a test can tell whether a refused mount ever reached it, and answers as the spec
// asks: NodePublishVolume creates the target directory and is idempotent, NodeUnpublishVolume
// removes it, unknown volumes and missing fields are the errors the spec names. Volumes are
// "attached" by the test (there is no Controller service).
import { mkdir, rm, stat } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { csiServices } from '../../csi/spec.js';

export interface SeenCsiCall {
  method: string;
  request: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

type Reply = [grpc.ServiceError | null, unknown?];

const fail = (code: grpc.status, details: string): Reply => [Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() }) as grpc.ServiceError];

export class FakeCsiNodePlugin {
  readonly calls: SeenCsiCall[] = [];
  /** Volume ids the plugin knows (as if staged by the controller side). */
  readonly volumes = new Set<string>();
  private readonly published = new Map<string, Set<string>>();

  private constructor(
    private readonly server: grpc.Server,
    readonly address: string,
  ) {}

  static async start(socketPath: string, nodeId = 'fake-node-1'): Promise<FakeCsiNodePlugin> {
    const { Identity, Node } = csiServices();
    const server = new grpc.Server();
    const address = `unix:${socketPath}`;
    const plugin = new FakeCsiNodePlugin(server, address);
    const handler = (method: string, answer: (request: Record<string, unknown>) => Promise<Reply> | Reply): grpc.handleUnaryCall<Record<string, unknown>, unknown> =>
      (call, callback) => {
        plugin.calls.push({ method, request: call.request, metadata: call.metadata.getMap() });
        void Promise.resolve(answer(call.request)).then(([error, value]) => (error ? callback(error) : callback(null, value)));
      };
    server.addService(Identity!, {
      GetPluginInfo: handler('GetPluginInfo', () => [null, { name: 'fake.csi.storage-authz.io', vendor_version: '1.0.0' }]),
      GetPluginCapabilities: handler('GetPluginCapabilities', () => [null, { capabilities: [] }]),
      Probe: handler('Probe', () => [null, { ready: { value: true } }]),
    });
    server.addService(Node!, {
      NodeStageVolume: handler('NodeStageVolume', () => fail(grpc.status.UNIMPLEMENTED, 'STAGE_UNSTAGE_VOLUME is not a capability')),
      NodeUnstageVolume: handler('NodeUnstageVolume', () => fail(grpc.status.UNIMPLEMENTED, 'STAGE_UNSTAGE_VOLUME is not a capability')),
      NodePublishVolume: handler('NodePublishVolume', (request) => plugin.publish(request)),
      NodeUnpublishVolume: handler('NodeUnpublishVolume', (request) => plugin.unpublish(request)),
      NodeGetVolumeStats: handler('NodeGetVolumeStats', () => fail(grpc.status.UNIMPLEMENTED, 'GET_VOLUME_STATS is not a capability')),
      NodeGetVolumeHealth: handler('NodeGetVolumeHealth', () => fail(grpc.status.UNIMPLEMENTED, 'not a capability')),
      NodeGetStorageHealth: handler('NodeGetStorageHealth', () => fail(grpc.status.UNIMPLEMENTED, 'not a capability')),
      NodeExpandVolume: handler('NodeExpandVolume', () => fail(grpc.status.UNIMPLEMENTED, 'EXPAND_VOLUME is not a capability')),
      NodeGetCapabilities: handler('NodeGetCapabilities', () => [null, { capabilities: [] }]),
      NodeGetInfo: handler('NodeGetInfo', () => [null, { node_id: nodeId, max_volumes_per_node: 0 }]),
    });
    // A server stream: two chunks of allocated blocks, or one and then ABORTED for snapshot "broken".
    server.addService(csiServices().SnapshotMetadata!, {
      GetMetadataAllocated: (call: grpc.ServerWritableStream<Record<string, unknown>, unknown>) => {
        plugin.calls.push({ method: 'GetMetadataAllocated', request: call.request, metadata: call.metadata.getMap() });
        const chunk = (offset: number) => ({ block_metadata_type: 'FIXED_LENGTH', volume_capacity_bytes: 1 << 30, block_metadata: [{ byte_offset: offset, size_bytes: 4096 }] });
        call.write(chunk(0));
        if (call.request.snapshot_id === 'broken') {
          call.emit('error', { code: grpc.status.ABORTED, details: 'snapshot broken while streaming' });
          return;
        }
        call.write(chunk(4096));
        call.end();
      },
      GetMetadataDelta: (call: grpc.ServerWritableStream<Record<string, unknown>, unknown>) => {
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'not a capability' });
      },
    });
    await rm(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
    return plugin;
  }

  /** The NodePublishVolume calls that reached the plugin. */
  publishes(): SeenCsiCall[] {
    return this.calls.filter((call) => call.method === 'NodePublishVolume');
  }

  private async publish(request: Record<string, unknown>): Promise<Reply> {
    const volumeId = String(request.volume_id ?? '');
    const target = String(request.target_path ?? '');
    if (!volumeId) return fail(grpc.status.INVALID_ARGUMENT, 'volume_id is required');
    if (!target) return fail(grpc.status.INVALID_ARGUMENT, 'target_path is required');
    if (!request.volume_capability) return fail(grpc.status.INVALID_ARGUMENT, 'volume_capability is required');
    if (!this.volumes.has(volumeId)) return fail(grpc.status.NOT_FOUND, `volume ${volumeId} does not exist`);
    await mkdir(target, { recursive: true });
    const targets = this.published.get(volumeId) ?? new Set<string>();
    targets.add(target);
    this.published.set(volumeId, targets);
    return [null, {}];
  }

  private async unpublish(request: Record<string, unknown>): Promise<Reply> {
    const volumeId = String(request.volume_id ?? '');
    const target = String(request.target_path ?? '');
    if (!volumeId) return fail(grpc.status.INVALID_ARGUMENT, 'volume_id is required');
    if (!target) return fail(grpc.status.INVALID_ARGUMENT, 'target_path is required');
    if (!this.volumes.has(volumeId)) return fail(grpc.status.NOT_FOUND, `volume ${volumeId} does not exist`);
    this.published.get(volumeId)?.delete(target);
    if (await stat(target).then(() => true, () => false)) await rm(target, { recursive: true, force: true });
    return [null, {}];
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}
