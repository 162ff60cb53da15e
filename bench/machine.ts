// Where and with what a result was measured: machine, versions, the command. Printed with every table.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { envoyBin, redisServerBin, repoRoot } from '../src/harness/tools.js';
import { opaEnvoyBin } from './peers/opa-envoy.js';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  /** 1-minute load average when the run started: other work on the machine skews absolute figures. */
  loadAverageAtStart: number;
  versions: Record<string, string>;
  command: string;
  startedAt: string;
}

/** The matching (or first) line a tool prints about itself; some (wrk -v) exit non-zero while doing so. */
function firstLine(file: string, args: string[], pattern?: RegExp): string {
  const result = spawnSync(file, args, { encoding: 'utf8' });
  if (result.error) return `not available (${result.error.message})`;
  const lines = `${result.stdout}\n${result.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
  return (pattern ? lines.find((l) => pattern.test(l)) : lines[0]) ?? 'unknown';
}

/** Read from node_modules directly: some packages' `exports` do not expose their package.json. */
function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(argv: readonly string[]): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg()[0] ?? NaN,
    versions: {
      node: process.version,
      '@grpc/grpc-js': packageVersion('@grpc/grpc-js'),
      '@grpc/proto-loader': packageVersion('@grpc/proto-loader'),
      '@open-policy-agent/opa-wasm': packageVersion('@open-policy-agent/opa-wasm'),
      ioredis: packageVersion('ioredis'),
      envoy: firstLine(envoyBin, ['--version'], /version/).replace(/^.*version:\s*/, ''),
      'opa-envoy-plugin': firstLine(opaEnvoyBin, ['version'], /^Version/).replace(/^Version:\s*/, ''),
      'redis-server': firstLine(redisServerBin, ['--version']),
      wrk: firstLine('wrk', ['-v']),
    },
    command: ['npm run bench --', ...argv].join(' '),
    startedAt: new Date().toISOString(),
  };
}
