// A fake CSI plugin on a unix socket, shaped like csi-powerflex (one binary, Identity + Node, and
// Controller when it is given the PowerFlex array to provision on: powerflexController.ts). It
// records every call, so a test can tell whether a refused mount ever reached it, and answers as
// the CSI spec (v1.13) and csi-sanity ask: missing fields are InvalidArgument, unknown volumes
// NotFound, every call idempotent. The node side stages and publishes block volumes: a volume is
// known to this node once it is attached (ControllerPublishVolume to this node's id, or `attach`),
// NodeStageVolume needs the staging directory the CO made, NodePublishVolume creates its target
// (a directory, or a file for raw block) and NodeUnpublishVolume removes it. Nothing is mounted.
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { csiServices } from '../../csi/spec.js';
import { FakePowerFlexController, type PowerFlexArray } from './powerflexController.js';
import { fail, missingField, ok, type CsiRequest, type Reply } from './reply.js';

export interface SeenCsiCall {
  method: string;
  request: CsiRequest;
  metadata: Record<string, unknown>;
}

export interface FakeCsiPluginOptions {
  /** The node's id (csi-powerflex: the SDC's GUID). */
  nodeId?: string;
  /** Serve the Controller service, provisioning on this PowerFlex system over the tenant's path. */
  controller?: { array: PowerFlexArray; systemId: string };
}

interface VolumeCapability {
  access_mode?: { mode?: string } | null;
  block?: unknown;
  mount?: unknown;
}

interface Publication {
  readonly: boolean;
  capability: string;
}

interface NodeVolume {
  capacityBytes: number;
  stagedAt?: string;
  published: Map<string, Publication>;
}

const NODE_CAPABILITIES = ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'SINGLE_NODE_MULTI_WRITER'];

export class FakeCsiPlugin {
  readonly calls: SeenCsiCall[] = [];
  /** Volumes attached to this node, by handle. */
  private readonly volumes = new Map<string, NodeVolume>();

  private constructor(
    private readonly server: grpc.Server,
    readonly address: string,
    readonly nodeId: string,
  ) {}

  static async start(socketPath: string, options: FakeCsiPluginOptions = {}): Promise<FakeCsiPlugin> {
    const { Identity, Controller, Node, SnapshotMetadata } = csiServices();
    const server = new grpc.Server();
    const address = `unix:${socketPath}`;
    const plugin = new FakeCsiPlugin(server, address, options.nodeId ?? 'fake-node-1');
    const handler = (method: string, answer: (request: CsiRequest) => Promise<Reply> | Reply): grpc.handleUnaryCall<CsiRequest, unknown> =>
      (call, callback) => {
        plugin.calls.push({ method, request: call.request, metadata: call.metadata.getMap() });
        void Promise.resolve()
          .then(() => answer(call.request))
          .then(
            ([error, value]) => (error ? callback(error) : callback(null, value)),
            (error: unknown) => callback({ code: grpc.status.INTERNAL, details: `fake plugin: ${(error as Error).message}` }),
          );
      };
    const unimplemented = (what: string) => () => fail(grpc.status.UNIMPLEMENTED, `${what} is not a capability`);
    const controller = options.controller && new FakePowerFlexController(options.controller.array, options.controller.systemId, plugin.attachments());

    server.addService(Identity!, {
      GetPluginInfo: handler('GetPluginInfo', () => ok({ name: 'fake.csi.storage-authz.io', vendor_version: '1.0.0' })),
      GetPluginCapabilities: handler('GetPluginCapabilities', () => ok({ capabilities: controller ? [{ service: { type: 'CONTROLLER_SERVICE' } }] : [] })),
      Probe: handler('Probe', () => ok({ ready: { value: true } })),
    });
    if (controller) {
      const notOffered = (method: string) => handler(method, unimplemented(method));
      server.addService(Controller!, {
        ...Object.fromEntries(Object.keys(Controller!).map((method) => [method, notOffered(method)])),
        ControllerGetCapabilities: handler('ControllerGetCapabilities', () => controller.capabilities()),
        CreateVolume: handler('CreateVolume', (request) => controller.create(request)),
        DeleteVolume: handler('DeleteVolume', (request) => controller.delete(request)),
        ControllerPublishVolume: handler('ControllerPublishVolume', (request) => controller.publish(request)),
        ControllerUnpublishVolume: handler('ControllerUnpublishVolume', (request) => controller.unpublish(request)),
        ControllerExpandVolume: handler('ControllerExpandVolume', (request) => controller.expand(request)),
        ValidateVolumeCapabilities: handler('ValidateVolumeCapabilities', (request) => controller.validate(request)),
      });
    }
    server.addService(Node!, {
      NodeStageVolume: handler('NodeStageVolume', (request) => plugin.stage(request)),
      NodeUnstageVolume: handler('NodeUnstageVolume', (request) => plugin.unstage(request)),
      NodePublishVolume: handler('NodePublishVolume', (request) => plugin.publish(request)),
      NodeUnpublishVolume: handler('NodeUnpublishVolume', (request) => plugin.unpublish(request)),
      NodeGetVolumeStats: handler('NodeGetVolumeStats', (request) => plugin.stats(request)),
      NodeExpandVolume: handler('NodeExpandVolume', (request) => plugin.expand(request)),
      NodeGetVolumeHealth: handler('NodeGetVolumeHealth', unimplemented('GET_VOLUME_HEALTH')),
      NodeGetStorageHealth: handler('NodeGetStorageHealth', unimplemented('GET_STORAGE_HEALTH')),
      NodeGetCapabilities: handler('NodeGetCapabilities', () => ok({ capabilities: NODE_CAPABILITIES.map((type) => ({ rpc: { type } })) })),
      NodeGetInfo: handler('NodeGetInfo', () => ok({ node_id: plugin.nodeId, max_volumes_per_node: 0 })),
    });
    // A server stream: two chunks of allocated blocks, or one and then ABORTED for snapshot "broken".
    server.addService(SnapshotMetadata!, {
      GetMetadataAllocated: (call: grpc.ServerWritableStream<CsiRequest, unknown>) => {
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
      GetMetadataDelta: (call: grpc.ServerWritableStream<CsiRequest, unknown>) => {
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'not a capability' });
      },
    });
    await rm(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
    return plugin;
  }

  /** A volume appears on this node, as after ControllerPublishVolume (for a test without the Controller service). */
  attach(volumeId: string, capacityBytes: number): void {
    if (!this.volumes.has(volumeId)) this.volumes.set(volumeId, { capacityBytes, published: new Map() });
  }

  /** The NodePublishVolume calls that reached the plugin. */
  publishes(): SeenCsiCall[] {
    return this.calls.filter((call) => call.method === 'NodePublishVolume');
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private attachments() {
    return {
      nodeId: this.nodeId,
      attach: (volumeId: string, capacityBytes: number) => this.attach(volumeId, capacityBytes),
      resize: (volumeId: string, capacityBytes: number) => {
        const volume = this.volumes.get(volumeId);
        if (volume) volume.capacityBytes = capacityBytes;
      },
      detach: (volumeId: string) => this.volumes.delete(volumeId),
    };
  }

  /** The attached volume a request names, after the spec's InvalidArgument for a missing `required` field; NotFound when this node has no such volume. */
  private volumeOf(request: CsiRequest, required: readonly string[]): NodeVolume | Reply {
    const volumeId = String(request.volume_id);
    return missingField(request, required) ?? this.volumes.get(volumeId) ?? fail(grpc.status.NOT_FOUND, `volume ${volumeId} does not exist`);
  }

  /** The attached volume published or staged at the request's volume_path (NodeGetVolumeStats, NodeExpandVolume). */
  private volumeAtPath(request: CsiRequest): NodeVolume | Reply {
    const volume = this.volumeOf(request, ['volume_id', 'volume_path']);
    if (Array.isArray(volume)) return volume;
    const normal = path.resolve(String(request.volume_path));
    const found = volume.stagedAt === normal || [...volume.published.keys()].some((target) => path.resolve(target) === normal);
    return found ? volume : fail(grpc.status.NOT_FOUND, `volume ${String(request.volume_id)} is not published or staged at ${String(request.volume_path)}`);
  }

  private async stage(request: CsiRequest): Promise<Reply> {
    const volume = this.volumeOf(request, ['volume_id', 'staging_target_path', 'volume_capability']);
    if (Array.isArray(volume)) return volume;
    const stagingPath = String(request.staging_target_path);
    if (volume.stagedAt !== undefined && volume.stagedAt !== stagingPath) {
      return fail(grpc.status.ALREADY_EXISTS, `volume ${String(request.volume_id)} is staged at ${volume.stagedAt}, not at ${stagingPath}`);
    }
    // The CO creates the staging directory; the plugin would mount the device there.
    if (!(await isDirectory(stagingPath))) return fail(grpc.status.FAILED_PRECONDITION, `staging_target_path ${stagingPath} is not a directory`);
    volume.stagedAt = stagingPath;
    return ok();
  }

  private async unstage(request: CsiRequest): Promise<Reply> {
    const volume = this.volumeOf(request, ['volume_id', 'staging_target_path']);
    if (Array.isArray(volume)) return volume;
    if (volume.published.size > 0) return fail(grpc.status.FAILED_PRECONDITION, `volume ${String(request.volume_id)} is still published at ${[...volume.published.keys()].join(', ')}`);
    if (volume.stagedAt === request.staging_target_path) delete volume.stagedAt;
    return ok();
  }

  private async publish(request: CsiRequest): Promise<Reply> {
    const volumeId = String(request.volume_id);
    const volume = this.volumeOf(request, ['volume_id', 'target_path', 'volume_capability']);
    if (Array.isArray(volume)) return volume;
    if (!request.staging_target_path) return fail(grpc.status.FAILED_PRECONDITION, 'staging_target_path is required: the plugin has STAGE_UNSTAGE_VOLUME');
    if (volume.stagedAt !== request.staging_target_path) return fail(grpc.status.FAILED_PRECONDITION, `volume ${volumeId} is not staged at ${String(request.staging_target_path)}`);
    const target = String(request.target_path);
    const capability = request.volume_capability as VolumeCapability;
    const publication = { readonly: request.readonly === true, capability: JSON.stringify(capability) };
    const existing = volume.published.get(target);
    if (existing) {
      if (existing.readonly !== publication.readonly || existing.capability !== publication.capability) {
        return fail(grpc.status.ALREADY_EXISTS, `volume ${volumeId} is published at ${target} with another capability or readonly flag`);
      }
      return ok();
    }
    if (capability.access_mode?.mode === 'SINGLE_NODE_SINGLE_WRITER' && volume.published.size > 0) {
      return fail(grpc.status.FAILED_PRECONDITION, `volume ${volumeId} is SINGLE_NODE_SINGLE_WRITER and already published at ${[...volume.published.keys()].join(', ')}`);
    }
    // The CO creates the target's parent; the plugin creates the target (a file for raw block).
    if (capability.block) {
      await writeFile(target, '');
    } else {
      await mkdir(target, { recursive: true });
    }
    volume.published.set(target, publication);
    return ok();
  }

  private async unpublish(request: CsiRequest): Promise<Reply> {
    const volume = this.volumeOf(request, ['volume_id', 'target_path']);
    if (Array.isArray(volume)) return volume;
    const target = String(request.target_path);
    if (volume.published.delete(target)) await rm(target, { recursive: true, force: true });
    return ok();
  }

  private async stats(request: CsiRequest): Promise<Reply> {
    const volume = this.volumeAtPath(request);
    if (Array.isArray(volume)) return volume;
    return ok({ usage: [{ unit: 'BYTES', total: String(volume.capacityBytes), used: '0', available: String(volume.capacityBytes) }] });
  }

  private async expand(request: CsiRequest): Promise<Reply> {
    const volume = this.volumeAtPath(request);
    if (Array.isArray(volume)) return volume;
    // The file system grows to the device's size, which ControllerExpandVolume set.
    const required = Number((request.capacity_range as { required_bytes?: string } | null)?.required_bytes ?? 0);
    return ok({ capacity_bytes: String(Math.max(required, volume.capacityBytes)) });
  }
}

const isDirectory = (file: string) => stat(file).then((found) => found.isDirectory(), () => false);
