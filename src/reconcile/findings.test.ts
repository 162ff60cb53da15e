import { expect } from 'chai';
import { DriftFindings, findingsSummary, tallyOf } from './findings.js';
import { MAX_LISTED_FINDINGS, type DriftFinding } from './types.js';

const finding = (volume: string, tenant?: string): DriftFinding => ({
  kind: 'unaccounted-on-array', systemType: 'powerflex', systemID: 'sys', pool: 'bronze', volume, arrayKiB: 8, repaired: false, ...(tenant && { tenant }),
});

describe('a pass’s drift findings, bounded', () => {
  it('lists at most MAX_LISTED_FINDINGS, those with a tenant first, and counts and sums every finding', () => {
    const found = new DriftFindings();
    for (let i = 0; i < MAX_LISTED_FINDINGS + 500; i++) found.add(finding(`other-${i}`));
    found.add(finding('ta-1', 'team-a'));
    found.add({ ...finding('ta-2', 'team-a'), kind: 'missing-on-array', arrayKiB: undefined, ledgerKiB: 16 } as DriftFinding);
    const listed = found.listed();
    expect(found.total).to.equal(MAX_LISTED_FINDINGS + 502);
    expect(listed).to.have.length(MAX_LISTED_FINDINGS);
    expect(listed.slice(0, 3).map((f) => f.volume)).to.deep.equal(['ta-1', 'ta-2', 'other-0']);
    listed[0]!.repaired = true;
    expect(found.tally([listed[0]!]).map(({ kind, tenant, count, unrepaired, ledgerKiB, arrayKiB }) => [kind, tenant, count, unrepaired, ledgerKiB, arrayKiB])).to.have.deep.members([
      ['unaccounted-on-array', undefined, MAX_LISTED_FINDINGS + 500, MAX_LISTED_FINDINGS + 500, 0, 8 * (MAX_LISTED_FINDINGS + 500)],
      ['unaccounted-on-array', 'team-a', 1, 0, 0, 8],
      ['missing-on-array', 'team-a', 1, 1, 16, 0],
    ]);
    expect(findingsSummary({ findings: listed, findingsTotal: found.total })).to.equal(`${MAX_LISTED_FINDINGS + 502} drift finding(s), the first ${MAX_LISTED_FINDINGS} listed`);
    expect(findingsSummary({ findings: listed.slice(0, 2), findingsTotal: 2 })).to.equal('2 drift finding(s)');
  });

  it('keeps every finding with a tenant for a repair pass, up to its bound, and still lists only the first', () => {
    const found = new DriftFindings(MAX_LISTED_FINDINGS + 300);
    for (let i = 0; i < MAX_LISTED_FINDINGS + 500; i++) found.add(finding(`ta-${i}`, 'team-a'));
    found.add(finding('other'));
    expect(found.repairable().map((f) => f.volume)).to.deep.equal(Array.from({ length: MAX_LISTED_FINDINGS + 300 }, (_, i) => `ta-${i}`));
    expect(found.listed()).to.have.length(MAX_LISTED_FINDINGS);
    expect(found.listed()[0]).to.equal(found.repairable()[0]);
    expect(found.total).to.equal(MAX_LISTED_FINDINGS + 501);
  });

  it('tallies a report saved before tallies existed from its findings', () => {
    const findings = [{ ...finding('ta-1', 'team-a'), repaired: true }, finding('ta-2', 'team-a'), finding('x')];
    expect(tallyOf({ findings }).map(({ tenant, count, unrepaired }) => [tenant, count, unrepaired])).to.have.deep.members([
      ['team-a', 2, 1],
      [undefined, 1, 1],
    ]);
  });
});
