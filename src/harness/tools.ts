// Paths of the real components the tests run (installed by scripts/setup.sh into .tools/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function tool(envVar: string, local: string, system: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const inRepo = path.join(repoRoot, local);
  return existsSync(inRepo) ? inRepo : system;
}

export const envoyBin = tool('ENVOY_BIN', '.tools/bin/envoy', 'envoy');
export const opaBin = tool('OPA_BIN', '.tools/bin/opa', 'opa');
export const redisServerBin = tool('REDIS_SERVER_BIN', '.tools/bin/redis-server', 'redis-server');
export const redisSentinelBin = tool('REDIS_SENTINEL_BIN', '.tools/bin/redis-sentinel', 'redis-sentinel');
