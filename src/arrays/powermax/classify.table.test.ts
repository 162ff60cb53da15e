// The adapter README's operation table is the classifier's specification: every row's example is
// classified here and must give the row's operation, and every operation kind is in the table.
import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { operationTable } from '../../../test/support/operationTable.js';
import type { Operation } from '../types.js';
import { classifyPowerMax } from './classify.js';

const tableRows = () => operationTable(path.join(path.dirname(fileURLToPath(import.meta.url)), 'README.md'));

// Every kind a PowerMax request can be classified as: Unisphere has no login to answer, no SDCs, and
// a SnapVX link is checked as a restore (PowerStore's 'volume-clone' creates; a link does not), and
// no quota objects of their own (PowerScale's 'volume-quota').
const KINDS: Record<Exclude<Operation['kind'], 'login' | 'sdc-approve' | 'volume-clone' | 'volume-quota'>, true> = {
  invalid: true, read: true, 'volume-create': true, 'volume-expand': true, 'volume-delete': true, 'volume-map': true,
  'volume-unmap': true, 'volume-restore': true, 'snapshot-create': true, 'unknown-mutation': true,
};

describe('PowerMax operation table (src/arrays/powermax/README.md)', () => {
  it('classifies every example as its row says', async () => {
    const rows = await tableRows();
    expect(rows.length).to.be.greaterThan(15);
    for (const row of rows) {
      const { operation } = classifyPowerMax({ method: row.method, path: row.path, body: Buffer.from(row.body) }, '000197900123');
      expect(operation.kind, row.example).to.equal(row.kind);
    }
  });

  it('lists every operation kind', async () => {
    const listed = new Set((await tableRows()).map((row) => row.kind));
    expect([...listed].sort()).to.deep.equal(Object.keys(KINDS).sort());
  });
});
