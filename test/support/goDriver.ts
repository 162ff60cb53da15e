// A CSI driver's calls made by Dell's own Go client library: test/<name>/ (goscaleio-driver, gopowerstore-driver),
// built by scripts/build-go-driver.sh (npm test's set-up, or here on first use) into a per-user cache. One JSON
// command per line in, one JSON result per line out, so a test can look at the ledger between two
// driver calls.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { repoRoot } from '../../src/harness/tools.js';

/** Builds the driver if this source version is not cached yet (needs Go 1.25+); returns the binary. */
export function goDriverBin(name: string): string {
  try {
    return execFileSync('bash', [path.join(repoRoot, 'scripts/build-go-driver.sh'), name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    throw new Error(`could not build test/${name}: ${String((error as { stderr?: unknown }).stderr ?? error)}`, { cause: error });
  }
}

export interface DriverResult {
  op: string;
  ok: boolean;
  /** On failure: the HTTP status as the client library decoded it (absent for client-side errors). */
  status?: number;
  message?: string;
  [field: string]: unknown;
}

export class GoDriver {
  private readonly child: ChildProcess;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';

  constructor(bin: string) {
    this.child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.waiting.shift()?.(line));
  }

  /** Runs one driver call; resolves with its result (failures are results, not rejections). */
  call(command: Record<string, unknown>): Promise<DriverResult> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`driver exited during ${JSON.stringify(command)}:\n${this.stderr.slice(-4000)}`));
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
