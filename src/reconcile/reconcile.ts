// Reconciliation (issue 10, DESIGN.md §2): every Storage's `pollInterval` (default 5 min, 0 off),
// one replica at a time (a lease in the ledger's store), list the array's volumes through the
// adapter's `inventory` and compare them with every volume the ledger charges on that system.
// Holds still in flight (younger than the resolver's age) are left to their own settlement. Each
// repair is checked once more against the array (findVolume) right before it is made, so a volume
// created or deleted through the service between the two reads is not "repaired" the wrong way, and
// goes into the scope's audit stream with its reason. In `report` mode nothing changes.
import { randomUUID } from 'node:crypto';
import { setImmediate as turn } from 'node:timers/promises';
import type { AdapterRegistry } from '../arrays/registry.js';
import type { ArrayAdapter, VolumeInfo } from '../arrays/types.js';
import type { Ledger, QuotaScope, VolumeRow } from '../ledger/types.js';
import type { ArrayCredentials, ResourceSource, StatusReporter, StorageSystem, Tenant } from '../resources/types.js';
import { silentLogger, type Logger } from '../telemetry/log.js';
import { parseDuration } from './duration.js';
import { DriftFindings, findingsSummary } from './findings.js';
import { MAX_LISTED_FINDINGS, MAX_REPAIRS_PER_PASS, type DriftFinding, type DriftReport, type ReconcileMode, type ReconcileStore } from './types.js';

/** Dell's docs default for a Storage's `pollInterval` is 30 s (a connectivity probe); a full listing every 5 min is what an array takes well. */
export const DEFAULT_POLL_INTERVAL_MS = 5 * 60_000;

export interface ReconcilerOptions {
  ledger: Ledger & ReconcileStore;
  resources: ResourceSource;
  adapters: AdapterRegistry;
  mode: ReconcileMode;
  /** Holds younger than this are in flight and left to their settlement (serve's --pending-after-ms). */
  settleAfterMs: number;
  /** How often due systems are looked for (ms); a pass runs only when its system's interval is up. */
  tickMs?: number;
  now?: () => number;
  logger?: Logger;
  /** Where each pass's outcome is shown (Kubernetes: the Storage's status); absent for a directory. */
  status?: Pick<StatusReporter, 'reportStorage'>;
}

export interface Reconciler {
  /** One pass over every configured system now, whatever its interval or lease (tests, an operator's request). */
  runOnce(): Promise<DriftReport[]>;
  stop(): Promise<void>;
}

/**
 * How many listed volumes (or holds, or ledger rows) are compared before decisions on the event loop
 * get a turn. A listed volume costs tens of µs (a chunk's tokens, three async generators): with 500
 * per turn, a pass over 10^5 volumes held the loop for up to ~120 ms at a time; with 100, ~50 ms
 * (`tsx bench/reconcile-stall.ts --committed`).
 */
const VOLUMES_PER_TURN = 100;

const volumeKey = (scope: Pick<QuotaScope, 'tenant' | 'pool'>, volume: string): string => JSON.stringify([scope.tenant, scope.pool, volume]);

/** The Storage's poll interval in ms (0: off); an unreadable value is off, and logged once per pass. */
export function pollIntervalMs(system: StorageSystem): number {
  return system.pollInterval === undefined ? DEFAULT_POLL_INTERVAL_MS : parseDuration(system.pollInterval);
}

/**
 * The tenant whose volumePrefix the name carries: the CSI driver names volumes `<prefix>-<id>`. The
 * longest prefix wins; a tie names nobody.
 */
export function ownerByPrefix(name: string, tenants: Iterable<Tenant>): string | undefined {
  let best: Tenant[] = [];
  for (const tenant of tenants) {
    const prefix = tenant.volumePrefix;
    if (!prefix || !name.startsWith(`${prefix}-`)) continue;
    const bestLength = best[0]?.volumePrefix?.length ?? 0;
    if (prefix.length > bestLength) best = [tenant];
    else if (prefix.length === bestLength) best.push(tenant);
  }
  return best.length === 1 ? best[0]!.name : undefined;
}

interface SystemPass {
  system: StorageSystem;
  adapter: ArrayAdapter;
  credentials: ArrayCredentials;
}

export function createReconciler(options: ReconcilerOptions): Reconciler {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const holder = randomUUID();

  /** The pass's findings, the array's listing read as it arrives: only charged volumes are kept from it. */
  async function findings({ system, adapter, credentials }: SystemPass): Promise<DriftFindings> {
    const onSystem = <T extends { scope?: QuotaScope; systemType?: string; systemID?: string }>(item: T) => {
      const scope = (item.scope ?? item) as QuotaScope;
      return scope.systemType === system.type && scope.systemID === system.systemID;
    };
    // The ledger first, then the array: a volume committed before the listing is on it unless deleted.
    const rows: VolumeRow[] = [];
    /** The names charged on this system. */
    const charged = new Set<string>();
    let compared = 0;
    for (const row of await options.ledger.volumes()) {
      if (++compared % VOLUMES_PER_TURN === 0) await turn();
      if (!onSystem(row)) continue;
      rows.push(row);
      charged.add(row.volume);
    }
    const inFlight = new Set<string>();
    for await (const hold of options.ledger.holds(0)) {
      if (++compared % VOLUMES_PER_TURN === 0) await turn();
      if (onSystem(hold) && now() - hold.since < options.settleAfterMs) inFlight.add(volumeKey(hold.scope, hold.volume));
    }
    const pools = [...options.resources.current().roles.values()].filter((role) => role.systemType === system.type && role.systemID === system.systemID).map((role) => role.pool);
    const tenants = [...options.resources.current().tenants.values()];
    const base = { systemType: system.type, systemID: system.systemID, repaired: false };
    const found = new DriftFindings(options.mode === 'repair' ? MAX_REPAIRS_PER_PASS : MAX_LISTED_FINDINGS);
    /**
     * The size the array lists for each charged volume, by name (the last listed of a name wins): a
     * number, not the listed object, so a pass over a full array (~131k PowerFlex volumes) keeps
     * no copy of the listing under serve's heap ceiling.
     */
    const arrayKiB = new Map<string, number>();
    let listed = 0;
    for await (const volume of adapter.inventory(system, credentials, pools)) {
      // Decisions share this event loop: a listing already buffered must not be compared in one go.
      if (++listed % VOLUMES_PER_TURN === 0) await turn();
      if (charged.has(volume.name)) {
        arrayKiB.set(volume.name, volume.sizeKiB);
        continue;
      }
      const tenant = ownerByPrefix(volume.name, tenants);
      found.add({ ...base, kind: 'unaccounted-on-array', ...(tenant && { tenant }), pool: volume.poolName, volume: volume.name, arrayKiB: volume.sizeKiB });
    }
    for (const row of rows) {
      if (++compared % VOLUMES_PER_TURN === 0) await turn();
      if (inFlight.has(volumeKey(row, row.volume))) continue;
      const listedKiB = arrayKiB.get(row.volume);
      if (listedKiB === undefined) found.add({ ...base, kind: 'missing-on-array', tenant: row.tenant, pool: row.pool, volume: row.volume, ledgerKiB: row.sizeKiB });
      else if (row.state === 'committed' && listedKiB !== row.sizeKiB) {
        found.add({ ...base, kind: 'size-mismatch', tenant: row.tenant, pool: row.pool, volume: row.volume, ledgerKiB: row.sizeKiB, arrayKiB: listedKiB });
      }
    }
    return found;
  }

  /** Makes the ledger match the array for one finding, after asking the array once more. */
  async function repair(pass: SystemPass, finding: DriftFinding): Promise<boolean> {
    if (finding.tenant === undefined) return false;
    const scope: QuotaScope = { systemType: finding.systemType, systemID: finding.systemID, pool: finding.pool, tenant: finding.tenant };
    const current: VolumeInfo | undefined = await pass.adapter.findVolume(pass.system, pass.credentials, finding.volume);
    switch (finding.kind) {
      case 'missing-on-array':
        if (current) return false;
        await options.ledger.recordAbsent(scope, finding.volume, 'reconciliation: charged in the ledger, not on the array');
        return true;
      case 'size-mismatch':
        if (!current || current.poolName !== scope.pool) return false;
        await options.ledger.recordPresent(scope, finding.volume, current.sizeKiB, `reconciliation: the array reports ${current.sizeKiB} KiB, ${finding.ledgerKiB} KiB charged`);
        return true;
      case 'unaccounted-on-array': {
        if (!current || current.poolName !== scope.pool) return false;
        const holders = await options.ledger.holders(scope.systemType, scope.systemID, finding.volume);
        if (holders.length > 0) return false; // charged meanwhile (a create through the service)
        await options.ledger.recordPresent(scope, finding.volume, current.sizeKiB, `reconciliation: on the array with tenant "${scope.tenant}"'s volume prefix, not charged`);
        return true;
      }
    }
  }

  async function reconcileSystem(system: StorageSystem): Promise<DriftReport> {
    const report: DriftReport = { systemType: system.type, systemID: system.systemID, at: now(), mode: options.mode, findings: [], findingsTotal: 0, tally: [] };
    try {
      const adapter = options.adapters.get(system.type);
      if (!adapter) throw new Error(`array type ${system.type} is not supported`);
      const pass: SystemPass = { system, adapter, credentials: await options.resources.credentials(system) };
      const found = await findings(pass);
      report.findings = found.listed();
      report.findingsTotal = found.total;
      // Every kept finding with a tenant is repaired, listed or not (the listed ones are the same objects).
      const repairable = options.mode === 'repair' ? found.repairable() : [];
      for (const finding of repairable) {
        try {
          finding.repaired = await repair(pass, finding);
          if (finding.repaired) logger.info({ storage: system.name, ...finding }, 'reconciliation repaired the ledger');
        } catch (error) {
          logger.warn({ err: error, storage: system.name, volume: finding.volume }, 'reconciliation repair failed; retried next pass');
        }
      }
      report.tally = found.tally(repairable.filter((finding) => finding.repaired));
      if (found.total > 0) logger.warn({ storage: system.name, drift: found.total, listed: report.findings.length, mode: options.mode }, 'ledger and array differ');
    } catch (error) {
      report.error = error instanceof Error ? error.message : String(error);
      logger.warn({ err: error, storage: system.name }, 'reconciliation pass failed; retried next interval');
    }
    report.at = now();
    await options.ledger.saveDrift(report);
    options.status?.reportStorage(system.name, {
      reachable: report.error === undefined,
      message: report.error ?? `reconciled: ${findingsSummary(report)}, mode ${options.mode}`,
      lastReconciliation: new Date(report.at),
    });
    return report;
  }

  const lastRun = new Map<string, number>();
  let running: Promise<unknown> | undefined;
  const tick = async () => {
    for (const system of options.resources.current().storage.values()) {
      let interval: number;
      try {
        interval = pollIntervalMs(system);
      } catch (error) {
        logger.warn({ err: error, storage: system.name }, 'pollInterval unreadable; not reconciled');
        continue;
      }
      const key = `${system.type}/${system.systemID}`;
      if (interval === 0 || now() - (lastRun.get(key) ?? -Infinity) < interval) continue;
      lastRun.set(key, now());
      // The lease lives as long as the interval: whichever replica wins runs this interval's pass.
      if (await options.ledger.claimReconcile(system.type, system.systemID, holder, interval)) await reconcileSystem(system);
    }
  };
  const timer = setInterval(() => {
    running ??= tick()
      .catch((error: unknown) => logger.warn({ err: error }, 'reconciliation not scheduled; will retry'))
      .finally(() => (running = undefined));
  }, options.tickMs ?? 1000);
  timer.unref();

  return {
    async runOnce() {
      const reports: DriftReport[] = [];
      for (const system of options.resources.current().storage.values()) reports.push(await reconcileSystem(system));
      return reports;
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** The drift rows an admin sees: every system's last listed findings, of one tenant or all, with when they were found. */
export function driftRows(reports: readonly DriftReport[], tenant?: string): (DriftFinding & { at: number; mode: ReconcileMode })[] {
  return reports
    .flatMap((report) => report.findings.map((finding) => ({ ...finding, at: report.at, mode: report.mode })))
    .filter((row) => tenant === undefined || row.tenant === tenant);
}
