// The adapter README's operation table is the classifier's specification: every row's example is
// classified here and must give the row's operation, and every operation kind is in the table.
import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { operationTable } from '../../../test/support/operationTable.js';
import type { Operation } from '../types.js';
import { classifyPowerFlex } from './classify.js';

const tableRows = () => operationTable(path.join(path.dirname(fileURLToPath(import.meta.url)), 'README.md'));

// Every kind a request can be classified as, but 'invalid' (a malformed body on a classified route)
// 'volume-clone' (PowerStore's: PowerFlex has no clone call) and 'volume-quota' (PowerScale's SmartQuota).
const KINDS: Record<Exclude<Operation['kind'], 'invalid' | 'volume-clone' | 'volume-quota'>, true> = {
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
