// The adapter README's operation table is the classifier's specification: every row's example is
// classified here and must give the row's operation, and every kind the classifier gives is in the table.
import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { operationTable } from '../../../test/support/operationTable.js';
import type { Operation } from '../types.js';
import { classifyPowerStore } from './classify.js';

const README = path.join(path.dirname(fileURLToPath(import.meta.url)), 'README.md');

// Every kind a PowerStore request can be classified as, but 'invalid' (a malformed body on a classified route).
const KINDS: Partial<Record<Operation['kind'], true>> = {
  login: true, read: true, 'volume-create': true, 'volume-expand': true, 'volume-delete': true, 'volume-map': true,
  'volume-unmap': true, 'volume-clone': true, 'snapshot-create': true, 'unknown-mutation': true,
};

describe('PowerStore operation table (src/arrays/powerstore/README.md)', () => {
  it('classifies every example as its row says', async () => {
    const rows = await operationTable(README);
    expect(rows.length).to.be.greaterThan(20);
    for (const row of rows) {
      const { operation } = classifyPowerStore({ method: row.method, path: row.path, body: Buffer.from(row.body) });
      expect(operation.kind, `${row.example}: ${JSON.stringify(operation)}`).to.equal(row.kind);
    }
  });

  it('lists every operation kind', async () => {
    const listed = new Set((await operationTable(README)).map((row) => row.kind));
    expect([...listed].sort()).to.deep.equal(Object.keys(KINDS).sort());
  });
});
