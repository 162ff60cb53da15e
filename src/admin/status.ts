// `GET /proxy/status/` (authzctl status): what this replica runs and has loaded — version, the
// resource generation in force, signing key ids (never a key), the ledger backend and whether it
// answers, unsettled holds, and each system's last reconciliation.
import type { Ledger } from '../ledger/types.js';
import type { ReconcileStore } from '../reconcile/types.js';
import type { ResourceSource } from '../resources/types.js';
import type { SigningKeySet } from '../tokens/types.js';
import { VERSION } from '../version.js';

export interface StatusSources {
  /** This replica's name (the Lease identity, else host-pid). */
  replica: string;
  ledgerBackend: 'memory' | 'redis' | 'sentinel';
  resources: ResourceSource;
  keys: () => SigningKeySet;
  ledger: Ledger & ReconcileStore;
  startedAt: Date;
}

export interface ReplicaStatus {
  replica: string;
  version: string;
  startedAt: string;
  resources: { generation: number; tenants: number; roles: number; storage: number };
  keys: { defaultKid: string; kids: string[] };
  ledger: { backend: string; reachable: boolean; pendingHolds?: number; error?: string };
  /** `findings`: all the pass made; `listed`: how many of them the drift report names, when fewer. */
  reconciliation: { system: string; at: string; mode: string; findings: number; listed?: number; error?: string }[];
}

export async function replicaStatus(sources: StatusSources): Promise<ReplicaStatus> {
  const snapshot = sources.resources.current();
  const keys = sources.keys();
  let ledger: ReplicaStatus['ledger'];
  let reconciliation: ReplicaStatus['reconciliation'] = [];
  try {
    const { counts } = await sources.ledger.holdSummary();
    reconciliation = (await sources.ledger.driftReports()).map((report) => ({
      system: `${report.systemType}/${report.systemID}`,
      at: new Date(report.at).toISOString(),
      mode: report.mode,
      findings: report.findingsTotal ?? report.findings.length,
      ...(report.findingsTotal > report.findings.length && { listed: report.findings.length }),
      ...(report.error && { error: report.error }),
    }));
    ledger = { backend: sources.ledgerBackend, reachable: true, pendingHolds: counts.reservation + counts.deletion + counts.resize };
  } catch (error) {
    ledger = { backend: sources.ledgerBackend, reachable: false, error: (error as Error).message };
  }
  return {
    replica: sources.replica,
    version: VERSION,
    startedAt: sources.startedAt.toISOString(),
    resources: { generation: snapshot.generation, tenants: snapshot.tenants.size, roles: snapshot.roles.size, storage: snapshot.storage.size },
    keys: { defaultKid: keys.defaultKid, kids: [...keys.keys.keys()].sort() },
    ledger,
    reconciliation,
  };
}
