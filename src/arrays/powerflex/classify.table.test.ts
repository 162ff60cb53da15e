// The adapter README's operation table is the classifier's specification: every row's example is
// classified here and must give the row's operation, and every operation kind is in the table.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Operation } from '../types.js';
import { classifyPowerFlex } from './classify.js';

interface Row {
  example: string;
  method: string;
  path: string;
  body: string;
  kind: string;
}

async function tableRows(): Promise<Row[]> {
  const readme = await readFile(path.join(path.dirname(fileURLToPath(import.meta.url)), 'README.md'), 'utf8');
  const section = readme.split('## Operation table')[1]?.split('\n## ')[0] ?? '';
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| Request') || line.startsWith('| ---')) continue;
    const cells = line.split(' | ');
    const example = /^`(.+)`$/.exec(cells[1]!.trim())?.[1];
    const kind = /^`([a-z-]+)`$/.exec(cells[2]!.trim())?.[1];
    if (!example || !kind) throw new Error(`README operation table row without an example or operation: ${line}`);
    const [method, requestPath, ...body] = example.split(' ');
    rows.push({ example, method: method!, path: requestPath!, body: body.join(' '), kind });
  }
  return rows;
}

// Every kind a request can be classified as, but 'invalid' (a malformed body on a classified route)
// and 'volume-clone' (PowerStore's: PowerFlex has no clone call).
const KINDS: Record<Exclude<Operation['kind'], 'invalid' | 'volume-clone'>, true> = {
  login: true, read: true, 'volume-create': true, 'volume-expand': true, 'volume-delete': true, 'volume-map': true,
  'volume-unmap': true, 'volume-restore': true, 'snapshot-create': true, 'sdc-approve': true, 'unknown-mutation': true,
};

describe('PowerFlex operation table (src/arrays/powerflex/README.md)', () => {
  it('classifies every example as its row says', async () => {
    const rows = await tableRows();
    expect(rows.length).to.be.greaterThan(20);
    for (const row of rows) {
      const { operation } = classifyPowerFlex({ method: row.method, path: row.path, body: Buffer.from(row.body) });
      expect(operation.kind, row.example).to.equal(row.kind);
    }
  });

  it('lists every operation kind', async () => {
    const listed = new Set((await tableRows()).map((row) => row.kind));
    expect([...listed].sort()).to.deep.equal(Object.keys(KINDS).sort());
  });
});
