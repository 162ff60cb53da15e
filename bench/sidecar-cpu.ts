// Sidecar CPU per request: another tree's sidecar (BEFORE=<dir>, e.g. `git archive main src protos
// package.json tsconfig.json | tar -x -C <dir>` and node_modules linked in) against this tree's, both
// started the same way in front of one trivial HTTPS upstream, the same GETs through each,
// alternately, twice. CPU is utime+stime from /proc for the sidecar process and for its Envoy.
//   BEFORE=/tmp/main-src N=5000 npx tsx bench/sidecar-cpu.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { freePort } from '../src/harness/ports.js';
import { envoyBin, repoRoot } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';
import { generateServingCertificate } from '../src/sidecar/certificates.js';
import { childPids, procUsage } from './support/procfs.js';

const N = Number(process.env.N ?? 5000);
const CONCURRENCY = 8;
const WARMUP = 500;
const before = process.env.BEFORE;
if (!before) throw new Error('BEFORE=<directory of the sidecar to compare with> is required');
const trees = { before, after: repoRoot };
const cpuMs = (pid: number) => procUsage(pid).cpuMs;
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
// The upstream checks nothing: any JWT with `exp` will do for the sidecar.
const jwt = (claims: object) => `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.c2ln`;

const certificate = await generateServingCertificate(new Date(Date.now() - 60_000), 3600_000);
const upstreamPort = await freePort();
let lastAuthorization = '';
const upstream = https.createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
  lastAuthorization = req.headers.authorization ?? '';
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
});
await new Promise<void>((resolve) => upstream.listen(upstreamPort, '127.0.0.1', resolve));

interface Running { child: ChildProcess; envoy: number; port: number; agent: Agent; stop(): Promise<void> }

async function startSidecar(tree: string): Promise<Running> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sidecar-cpu-'));
  const port = await freePort();
  mkdirSync(path.join(dir, 'tokens'));
  const exp = Math.floor(Date.now() / 1000) + 6 * 3600;
  writeFileSync(path.join(dir, 'tokens', 'access'), jwt({ sub: 'csm-tenant', group: 't', exp, token_use: 'access' }));
  writeFileSync(path.join(dir, 'tokens', 'refresh'), jwt({ sub: 'csm-tenant', group: 't', exp: exp + 3600, token_use: 'refresh' }));
  writeFileSync(path.join(dir, 'config'), JSON.stringify([{ endpoint: `https://localhost:${port}`, systemID: '542a2d5f5122210f', intendedEndpoint: 'https://10.0.0.1' }]));
  writeFileSync(path.join(dir, 'ca.pem'), certificate.certPem);
  const child = spawn(process.execPath, [
    '--import', 'tsx', 'src/main.ts', 'sidecar', '--proxy-host', `localhost:${upstreamPort}`, '--plugin', 'powerflex',
    '--driver-config', path.join(dir, 'config'), '--tokens-dir', path.join(dir, 'tokens'), '--ca-file', path.join(dir, 'ca.pem'),
    '--envoy-bin', envoyBin, '--work-dir', path.join(dir, 'work'), '--log-level', 'warn', '--log-level-file', path.join(dir, 'none'),
  ], { cwd: tree, stdio: ['ignore', 'ignore', 'inherit'] });
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  await waitFor(async () => {
    try {
      const response = await request(`https://localhost:${port}/`, { dispatcher: agent });
      await response.body.dump();
      return response.statusCode === 200;
    } catch {
      return false;
    }
  }, `the sidecar of ${tree}`, 60_000, 100);
  return {
    child, port, agent, envoy: childPids(child.pid!)[0]!,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function drive(sidecar: Running, count: number): Promise<number> {
  let next = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < count) {
      const response = await request(`https://localhost:${sidecar.port}/api/types/System/instances/`, {
        dispatcher: sidecar.agent,
        headers: { authorization: 'Basic cGxhY2Vob2xkZXI6cGxhY2Vob2xkZXI=', cookie: 'session=driver' },
      });
      await response.body.dump();
      if (response.statusCode !== 200) failed++;
    }
  }));
  return failed;
}

const rows = [];
for (const round of [1, 2]) {
  for (const [name, tree] of Object.entries(trees)) {
    const sidecar = await startSidecar(tree);
    await drive(sidecar, WARMUP);
    const [process0, envoy0, t0] = [cpuMs(sidecar.child.pid!), cpuMs(sidecar.envoy), Date.now()];
    const failed = await drive(sidecar, N);
    const [process1, envoy1, t1] = [cpuMs(sidecar.child.pid!), cpuMs(sidecar.envoy), Date.now()];
    if (!lastAuthorization.startsWith('Bearer eyJ')) throw new Error(`${name}: the upstream saw no bearer token`);
    rows.push({
      round, name, requests: N, failed,
      'sidecar process µs/req': Math.round(((process1 - process0) * 1000) / N),
      'sidecar Envoy µs/req': Math.round(((envoy1 - envoy0) * 1000) / N),
      'wall ms': t1 - t0,
    });
    await sidecar.stop();
  }
}
console.table(rows);
upstream.close();
