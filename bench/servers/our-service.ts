// The array side every run of our service needs: the fake PowerFlex gateway (in the runner's
// process: after the first pool lookup and login our service caches, it is only on the path in the
// Envoy section) and a workspace of resources, credentials and signing key naming it. Then our
// service in its own process, pinned like every other contender.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { freePort } from '../../src/harness/ports.js';
import { repoRoot } from '../../src/harness/tools.js';
import { parseServeConfig, type ServeConfig } from '../../src/serve/config.js';
import { createWorkspace, SIGNING_KEY_ID, type Workspace } from '../../src/demo/workspace.js';
import { FakePowerFlexGateway } from '../../src/fakes/powerflex/gateway.js';
import { startNodeProcess, type NodeProcess } from '../support/spawn.js';
import { benchWorld, tenantToken, type BenchWorld } from '../world.js';

const ARRAY_USER = 'admin';
const ARRAY_PASSWORD = 'Password123!';

export interface ArraySide {
  gateway: FakePowerFlexGateway;
  /** The gateway's admin credentials (our service has them in its workspace Secret). */
  credentials: { username: string; password: string };
  workspace: Workspace;
  world: BenchWorld;
  stop(): Promise<void>;
}

export async function startArraySide(): Promise<ArraySide> {
  const gateway = await FakePowerFlexGateway.start({ username: ARRAY_USER, password: ARRAY_PASSWORD, tokenTtlMs: 8 * 3600_000 });
  const world = benchWorld({ endpoint: gateway.url, systemId: gateway.systemId });
  const workspace = await createWorkspace({
    array: { endpoint: gateway.url, systemId: gateway.systemId, ca: gateway.ca, username: ARRAY_USER, password: ARRAY_PASSWORD },
    pool: world.poolName,
    quotaGiB: world.quotaGiB,
    tenants: [{ name: world.tenant, approveSdc: true }],
  });
  return {
    gateway,
    credentials: { username: ARRAY_USER, password: ARRAY_PASSWORD },
    workspace,
    world,
    async stop() {
      await gateway.stop();
      await workspace.remove();
    },
  };
}

/**
 * The Node flags `serve` runs with in a pod: the image's (Dockerfile `ENTRYPOINT ["node", <flags>…,
 * <script>]`) and the chart's heap ceiling (values.yaml `serveHeapMiB` → NODE_OPTIONS). Without the
 * ceiling V8 sizes the heap from this machine's RAM, so the bench would not notice what does not fit in a pod.
 */
export function shippedNodeArgs(root: string): string[] {
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))?.[1];
  const command = entrypoint === undefined ? undefined : (JSON.parse(entrypoint) as unknown);
  if (!Array.isArray(command) || command[0] !== 'node' || !command.every((part) => typeof part === 'string')) throw new Error('the Dockerfile has no ENTRYPOINT ["node", …]');
  const imageFlags = (command as string[]).slice(1).filter((part) => part.startsWith('--'));
  const values = parseYaml(readFileSync(path.join(root, 'charts/storage-authz/values.yaml'), 'utf8')) as { serveHeapMiB?: unknown };
  if (!Number.isInteger(values.serveHeapMiB)) throw new Error('charts/storage-authz/values.yaml has no integer serveHeapMiB');
  return [...imageFlags, `--max-old-space-size=${String(values.serveHeapMiB)}`];
}

/** How the chart's edge asks serve for decisions (values.yaml `edge.authzTransport`): what the bench's edges do too. */
export function shippedTransport(root: string): 'grpc' | 'http' {
  const values = parseYaml(readFileSync(path.join(root, 'charts/storage-authz/values.yaml'), 'utf8')) as { edge?: { authzTransport?: unknown } };
  const transport = values.edge?.authzTransport;
  if (transport !== 'grpc' && transport !== 'http') throw new Error('charts/storage-authz/values.yaml: edge.authzTransport must be grpc or http');
  return transport;
}

/** The malloc setting the image gives every process (Dockerfile `ENV MALLOC_ARENA_MAX`). */
function shippedEnv(root: string): NodeJS.ProcessEnv {
  const arenaMax = /^ENV .*\bMALLOC_ARENA_MAX=(\d+)/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))?.[1];
  if (arenaMax === undefined) throw new Error('the Dockerfile sets no MALLOC_ARENA_MAX');
  return { MALLOC_ARENA_MAX: arenaMax };
}

export interface OurServiceOptions {
  /** Redis at `url`, or the in-memory ledger. */
  ledger: { kind: 'redis'; url: string } | { kind: 'memory' };
  cpus?: string;
  /** Besides the shipped ones (shippedNodeArgs), e.g. ['--cpu-prof', '--cpu-prof-dir', dir] or ['--expose-gc']. */
  nodeArgs?: string[];
  /** Default: loopback TCP on a free port. */
  listen?: string;
  /** serve's HTTP check server (--http-check-listen); default: a free loopback port when the shipped transport is http. */
  httpCheckListen?: string;
  /**
   * Both servers on unix sockets in a directory of their own, as the chart's pod has them
   * (deployment.yaml: the edge and serve share /run/storage-authz): for an edge in front. Behind
   * the edge this cost serve about 5% less CPU per decision than loopback TCP (bench/edge-variants.ts).
   */
  podSockets?: boolean;
  /**
   * `off` where nothing confirms creates (no Envoy, no access log: the Check-alone section): every
   * create stays a hold, and after ~10^5 of them a reconciliation pass over them (every 5 minutes)
   * outgrew the chart's heap ceiling and serve died mid-run. Its cost on a real ledger is measured
   * on its own (bench/reconcile-stall.ts). Default: serve's (repair).
   */
  reconcile?: 'off';
  /** The checkout whose compiled serve runs (buildCompiled first); default this one. */
  root?: string;
}

export interface OurService extends NodeProcess {
  target: string;
  /** serve's HTTP check server, when it has one (the shipped transport is http, or httpCheckListen was given). */
  httpTarget?: string;
  token: string;
}

export async function startOurService(array: ArraySide, options: OurServiceOptions): Promise<OurService> {
  const { workspace } = array;
  const socketDir = options.podSockets ? mkdtempSync(path.join(os.tmpdir(), 'bench-serve-')) : undefined;
  const http = shippedTransport(repoRoot) === 'http';
  const sockets = socketDir === undefined ? undefined : { listen: `unix:${path.join(socketDir, 'authz.sock')}`, httpCheckListen: http ? `unix:${path.join(socketDir, 'check-http.sock')}` : undefined };
  // Through the same validation as `storage-authz serve` flags, so defaults stay the service's own.
  const config = parseServeConfig({
    listen: sockets?.listen ?? options.listen ?? '127.0.0.1:0',
    httpCheckListen: sockets ? sockets.httpCheckListen : (options.httpCheckListen ?? (http ? `127.0.0.1:${await freePort()}` : undefined)),
    resourcesDir: workspace.resourcesDir,
    secretsDir: workspace.secretsDir,
    signingKeysDir: workspace.keysDir,
    defaultKid: SIGNING_KEY_ID,
    ...(options.ledger.kind === 'redis' && { redisUrl: options.ledger.url }),
    arrayCaFile: workspace.arrayCaFile,
    // Nothing confirms the Check-alone creates (no Envoy access log): keep the resolver from asking
    // the array about each of them mid-measurement.
    pendingAfterMs: 24 * 3600_000,
    resolveIntervalMs: 3600_000,
    drainMs: 1000,
    ...(options.reconcile && { reconcile: options.reconcile }),
  });
  const service = await startShippedServe(config, { cpus: options.cpus, nodeArgs: options.nodeArgs ?? [], ...(options.root && { root: options.root }) });
  const target = config.listen.startsWith('unix:') ? config.listen : `127.0.0.1:${service.port}`;
  const stop = async () => {
    await service.stop();
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  };
  return { ...service, stop, target, ...(config.httpCheckListen && { httpTarget: config.httpCheckListen }), token: await tenantToken(array.world, workspace.signingKeys, workspace.roleName) };
}

/**
 * `serve` (bench/servers/ours.ts) in its own process as shipped: the image's Node flags, the chart's
 * heap ceiling, the image's malloc setting, all read from `root`'s checkout (default this one), then
 * `nodeArgs`. Without the ceiling V8 sizes the heap from this machine's RAM and lets garbage pile
 * up: in a Check-alone replay the heap grew to 167 MB and its first full collection paused
 * decisions for 211 ms (with it: 60-80 MB, 20-40 ms).
 */
export function startShippedServe(config: ServeConfig, options: { cpus?: string; nodeArgs?: string[]; root?: string }): Promise<NodeProcess> {
  const root = options.root ?? repoRoot;
  return startNodeProcess('bench/servers/ours.ts', [JSON.stringify(config)], { cpus: options.cpus, root, nodeArgs: [...shippedNodeArgs(root), ...(options.nodeArgs ?? [])], env: shippedEnv(root) });
}
