// A pass's findings, bounded: every finding is counted (by kind, tenant and pool, with capacities),
// but only MAX_LISTED_FINDINGS are kept by name, so an array full of volumes no ledger charges costs
// a few hundred kilobytes of report, not one finding per volume. A repair pass keeps more of those with
// a tenant (MAX_REPAIRS_PER_PASS): it repairs them all, and the report still lists the first ones.
import { MAX_LISTED_FINDINGS, type DriftFinding, type DriftReport, type DriftTally } from './types.js';

const tallyKey = (finding: Pick<DriftFinding, 'kind' | 'tenant' | 'systemType' | 'systemID' | 'pool'>): string =>
  JSON.stringify([finding.kind, finding.tenant ?? null, finding.systemType, finding.systemID, finding.pool]);

export class DriftFindings {
  /** Findings with a tenant (repairable), up to `keptOwned`; those without, up to the listing bound. */
  private readonly owned: DriftFinding[] = [];
  private readonly unowned: DriftFinding[] = [];
  private readonly tallies = new Map<string, DriftTally>();
  total = 0;

  /** `keptOwned`: how many findings with a tenant to keep (a repair pass keeps more than it lists). */
  constructor(private readonly keptOwned = MAX_LISTED_FINDINGS) {}

  add(finding: DriftFinding): void {
    this.total += 1;
    const key = tallyKey(finding);
    let tally = this.tallies.get(key);
    if (!tally) {
      const { kind, systemType, systemID, pool } = finding;
      tally = { kind, ...(finding.tenant !== undefined && { tenant: finding.tenant }), systemType, systemID, pool, count: 0, unrepaired: 0, ledgerKiB: 0, arrayKiB: 0 };
      this.tallies.set(key, tally);
    }
    tally.count += 1;
    tally.ledgerKiB += finding.ledgerKiB ?? 0;
    tally.arrayKiB += finding.arrayKiB ?? 0;
    if (finding.tenant === undefined) {
      if (this.unowned.length < MAX_LISTED_FINDINGS) this.unowned.push(finding);
    } else if (this.owned.length < this.keptOwned) this.owned.push(finding);
  }

  /** The findings a report names: those with a tenant first, at most MAX_LISTED_FINDINGS. */
  listed(): DriftFinding[] {
    return [...this.owned.slice(0, MAX_LISTED_FINDINGS), ...this.unowned].slice(0, MAX_LISTED_FINDINGS);
  }

  /** The findings with a tenant that were kept (listed or not): what a repair pass acts on. */
  repairable(): readonly DriftFinding[] {
    return this.owned;
  }

  /** The tallies, `repaired` (findings the pass repaired) no longer counted as unrepaired. */
  tally(repaired: readonly DriftFinding[]): DriftTally[] {
    const fixed = new Map<string, number>();
    for (const finding of repaired) fixed.set(tallyKey(finding), (fixed.get(tallyKey(finding)) ?? 0) + 1);
    return [...this.tallies.entries()].map(([key, tally]) => ({ ...tally, unrepaired: tally.count - (fixed.get(key) ?? 0) }));
  }
}

/** A report's tallies; a report saved before tallies existed is tallied from its findings. */
export function tallyOf(report: Pick<DriftReport, 'findings'> & Partial<Pick<DriftReport, 'tally'>>): DriftTally[] {
  if (report.tally) return report.tally;
  const found = new DriftFindings();
  for (const finding of report.findings) found.add(finding);
  return found.tally(report.findings.filter((finding) => finding.repaired));
}

/** "12 drift finding(s)", or "100000 drift finding(s), the first 1000 listed" when the list is truncated. */
export function findingsSummary(report: Pick<DriftReport, 'findings'> & Partial<Pick<DriftReport, 'findingsTotal'>>): string {
  const total = report.findingsTotal ?? report.findings.length;
  return total > report.findings.length ? `${total} drift finding(s), the first ${report.findings.length} listed` : `${total} drift finding(s)`;
}

/** Every system's last counts of drift (listed findings or not), of one tenant or all. */
export function driftTallies(reports: readonly DriftReport[], tenant?: string): DriftTally[] {
  return reports.flatMap((report) => tallyOf(report)).filter((tally) => tenant === undefined || tally.tenant === tenant);
}
