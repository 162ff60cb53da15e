// `npm run crds`: writes the CRDs generated from src/resources/schemas/ to charts/storage-authz/crds/.
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crdFiles } from '../src/resources/crds.js';
import { repoRoot } from '../src/harness/tools.js';

const dir = path.join(repoRoot, 'charts/storage-authz/crds');
const files = crdFiles();
for (const stale of (await readdir(dir)).filter((name) => !files.has(name))) await rm(path.join(dir, stale));
for (const [name, text] of files) await writeFile(path.join(dir, name), text);
process.stderr.write(`crds: wrote ${[...files.keys()].join(', ')} to ${path.relative(process.cwd(), dir) || dir}\n`);
