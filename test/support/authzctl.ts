// Running the built authzctl as a storage admin does: a subprocess with stdin, stdout and stderr.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../src/harness/tools.js';

/** The CLI as `npm run build` (or `tsc -p src/cli/tsconfig.json`) leaves it. */
export const AUTHZCTL = path.join(repoRoot, 'dist/src/cli/authzctl.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs authzctl with `args`; what it prints is also appended to `transcript` (for "no secret printed" checks). */
export function runAuthzctl(args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv; transcript?: string[] } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AUTHZCTL, ...args], { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      options.transcript?.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}
