// The adapter README's operation table is the classifier's specification: every row's example is
// classified here and must give the row's operation, and every kind the classifier gives is in the table.
import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { operationTable } from '../../../test/support/operationTable.js';
import type { Operation } from '../types.js';
import { classifyPowerScale } from './classify.js';

const README = path.join(path.dirname(fileURLToPath(import.meta.url)), 'README.md');

// Every kind a PowerScale request can be classified as, but 'invalid' (a malformed body on a classified route).
const KINDS: Partial<Record<Operation['kind'], true>> = {
  login: true, read: true, 'volume-create': true, 'volume-expand': true, 'volume-delete': true, 'volume-quota': true,
  'volume-map': true, 'volume-unmap': true, 'unknown-mutation': true,
};

/** A row's body `x-isi-ifs-target-type: container` is that header (the namespace API's directory create). */
function requestOf(row: { method: string; path: string; body: string }) {
  const header = /^(x-[a-z-]+): (.+)$/.exec(row.body);
  return { method: row.method, path: row.path, body: Buffer.from(header ? '' : row.body), headers: header ? { [header[1]!]: header[2]! } : {} };
}

describe('PowerScale operation table (src/arrays/powerscale/README.md)', () => {
  it('classifies every example as its row says', async () => {
    const rows = await operationTable(README);
    expect(rows.length).to.be.greaterThan(12);
    for (const row of rows) {
      const { operation } = classifyPowerScale(requestOf(row));
      expect(operation.kind, `${row.example}: ${JSON.stringify(operation)}`).to.equal(row.kind);
    }
  });

  it('lists every operation kind', async () => {
    const listed = new Set((await operationTable(README)).map((row) => row.kind));
    expect([...listed].sort()).to.deep.equal(Object.keys(KINDS).sort());
  });
});
