// The PowerFlex CSI driver's calls made by Dell's own client library: test/goscaleio-driver, built by
// `npm test`'s set-up (scripts/build-goscaleio-driver.sh) into a per-user cache. One JSON command per
// line in, one JSON result per line out, so a test can look at the ledger between two driver calls.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../../src/harness/tools.js';

/** Where the set-up script put the binary for these sources (same key as the script). */
export function goscaleioDriverBin(): string {
  const dir = path.join(repoRoot, 'test/goscaleio-driver');
  const key = createHash('sha256').update(Buffer.concat(['go.mod', 'go.sum', 'main.go'].map((file) => readFileSync(path.join(dir, file))))).digest('hex').slice(0, 16);
  const cache = process.env.STORAGE_AUTHZ_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'storage-authz');
  const bin = path.join(cache, `goscaleio-driver-${key}`);
  if (!existsSync(bin)) throw new Error(`the goscaleio driver is not built (${bin}): run 'npm run setup -- test' or 'bash scripts/build-goscaleio-driver.sh' (needs Go 1.25+)`);
  return bin;
}

export interface DriverResult {
  op: string;
  ok: boolean;
  /** On failure: the gateway's HTTP status and errorCode as goscaleio decoded them (absent for client-side errors). */
  status?: number;
  errorCode?: number;
  message?: string;
  [field: string]: unknown;
}

export class GoscaleioDriver {
  private readonly child: ChildProcess;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';

  constructor() {
    this.child = spawn(goscaleioDriverBin(), [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (chunk: Buffer) => { this.stderr += chunk.toString(); });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.waiting.shift()?.(line));
  }

  /** Runs one driver call; resolves with its result (failures are results, not rejections). */
  call(command: Record<string, unknown>): Promise<DriverResult> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`goscaleio driver exited during ${JSON.stringify(command)}:\n${this.stderr.slice(-4000)}`));
      this.child.once('exit', onExit);
      this.waiting.push((line) => {
        this.child.off('exit', onExit);
        resolve(JSON.parse(line) as DriverResult);
      });
      this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    });
  }

  /** Closes its stdin (it exits at end of input) and waits for it to exit. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    await exited;
  }
}
