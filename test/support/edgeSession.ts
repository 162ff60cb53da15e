// The production chain an operations e2e test drives, as a driver and as a storage admin: the fake
// PowerFlex gateway, a workspace (resources, keys, certificates), a real Redis ledger, the real
// `storage-authz serve` and the real Envoy edge. Driver calls come back with the request id Envoy
// logged; authzctl runs with an admin token against the edge; /metrics is checked by promtool.
// Shared by the operations and report-only suites.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { createWorkspace, type Workspace } from '../../src/demo/workspace.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from '../../src/fakes/powerflex/gateway.js';
import type { Started } from '../../src/harness/process.js';
import { repoRoot } from '../../src/harness/tools.js';
import { mintTokenPair } from '../../src/tokens/mint.js';
import { runAuthzctl, type CliResult } from './authzctl.js';
import { checkMetrics, samples, type Sample } from './prometheus.js';
import { startRedis, type RunningRedis } from './redis.js';
import { startServeAndEdge } from './serveEdge.js';

export const SESSION_POOL = DEFAULT_POOLS[0]!;

export interface EdgeAnswer {
  status: number;
  /** The x-request-id the edge answered with: the decision id of the audit trail. */
  requestId: string;
  json: Record<string, unknown>;
}

export interface EdgeSessionOptions {
  /** The quota of the one role every tenant is bound to, on SESSION_POOL. */
  quotaGiB: number;
  tenants: string[];
  /** Added to `serve`'s flags (the ledger is always the session's Redis). */
  serveArgs?: string[];
  /** Runs on the workspace before serve starts (edit the resources the service first loads). */
  beforeServe?: (workspace: Workspace) => Promise<void>;
}

export interface EdgeSession {
  gateway: FakePowerFlexGateway;
  redis: RunningRedis;
  workspace: Workspace;
  service: Started;
  envoy: Started;
  edgePort: number;
  adminApiPort: number;
  /** A tenant's access token for the session's role (`now`: minted as of that unix second). */
  mint(tenant: string, now?: number): Promise<string>;
  /** One driver call through the edge with a Bearer token. */
  send(bearer: string, method: 'GET' | 'POST', pathAndQuery: string, body?: unknown): Promise<EdgeAnswer>;
  /** A PowerFlex volume create of `gib` GiB on SESSION_POOL. */
  create(bearer: string, name: string, gib: number): Promise<EdgeAnswer>;
  remove(bearer: string, volumeId: string): Promise<EdgeAnswer>;
  /** authzctl against the edge's admin API with an admin token. */
  admin(args: string[]): Promise<CliResult>;
  /** GET /metrics of the admin listener, accepted by promtool, as samples. */
  scrape(): Promise<Sample[]>;
  stop(): Promise<void>;
}

export async function startEdgeSession(options: EdgeSessionOptions): Promise<EdgeSession> {
  await promisify(execFile)('npx', ['tsc', '-p', 'src/cli/tsconfig.json'], { cwd: repoRoot });
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step();
  };
  try {
    const gateway = await FakePowerFlexGateway.start();
    stops.push(() => gateway.stop());
    const workspace = await createWorkspace({
      array: { endpoint: gateway.url, systemId: gateway.systemId, ca: gateway.ca, username: 'admin', password: 'Password123!' },
      pool: SESSION_POOL.name,
      quotaGiB: options.quotaGiB,
      tenants: options.tenants.map((name) => ({ name, approveSdc: false })),
    });
    stops.push(() => workspace.remove());
    await options.beforeServe?.(workspace);
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const agent = new Agent({ connect: { ca: workspace.edgeCa } });
    stops.push(() => agent.close());
    const edgeCaFile = path.join(workspace.dir, 'edge-ca.pem');
    await writeFile(edgeCaFile, workspace.edgeCa);
    const { service, envoy, adminApiPort, edgePort } = await startServeAndEdge(workspace, ['--redis-url', redis.url, ...(options.serveArgs ?? [])], ['--authz-timeout-ms', '5000']);
    stops.push(() => service.stop(), () => envoy.stop());
    const adminTokenFile = await writeAdminTokenFile(workspace);
    const forwarded = `for=csm-authorization;${gateway.url};${gateway.systemId},by=csm-authorization;csi-vxflexos`;

    const send = async (bearer: string, method: 'GET' | 'POST', pathAndQuery: string, body?: unknown): Promise<EdgeAnswer> => {
      const response = await request(`https://127.0.0.1:${edgePort}${pathAndQuery}`, {
        method,
        headers: { authorization: `Bearer ${bearer}`, forwarded, 'content-type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        dispatcher: agent,
      });
      const text = await response.body.text();
      const requestId = response.headers['x-request-id'];
      if (typeof requestId !== 'string') throw new Error(`no x-request-id on the answer (${response.statusCode} ${text})`);
      return { status: response.statusCode, requestId, json: JSON.parse(text || '{}') as Record<string, unknown> };
    };
    return {
      gateway, redis, workspace, service, envoy, edgePort, adminApiPort, stop, send,
      mint: async (tenant, now) =>
        (await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-tenant', group: tenant, roles: [workspace.roleName], accessTtlSeconds: 600, refreshTtlSeconds: 1200, ...(now && { now }) })).access,
      create: (bearer, name, gib) =>
        send(bearer, 'POST', '/api/types/Volume/instances/', { name, storagePoolId: SESSION_POOL.id, volumeSizeInKb: String(gib * GIB_IN_KIB), volumeType: 'ThinProvisioned' }),
      remove: (bearer, volumeId) => send(bearer, 'POST', `/api/instances/Volume::${volumeId}/action/removeVolume/`, { removeMode: 'ONLY_ME' }),
      admin: (args) => runAuthzctl(['--addr', `127.0.0.1:${edgePort}`, '--ca', edgeCaFile, '--admin-token', adminTokenFile, ...args]),
      scrape: () => scrapeChecked(`http://127.0.0.1:${adminApiPort}/metrics`),
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** An admin token pair signed with the workspace's key, written where `authzctl --admin-token` reads it. */
async function writeAdminTokenFile(workspace: Workspace): Promise<string> {
  const file = path.join(workspace.dir, 'admin.yaml');
  const minted = await runAuthzctl(['admin', 'token', '--name', 'alice', '--kid', workspace.signingKeys.defaultKid, '--secret-file', path.join(workspace.keysDir, workspace.signingKeys.defaultKid)]);
  expect(minted.code, minted.stderr).to.equal(0);
  await writeFile(file, minted.stdout, { mode: 0o600 });
  return file;
}

/** GET a Prometheus exposition, accepted by promtool, as samples. */
export async function scrapeChecked(url: string): Promise<Sample[]> {
  const response = await request(url);
  const text = await response.body.text();
  expect(response.statusCode, text).to.equal(200);
  await checkMetrics(text);
  return samples(text);
}
