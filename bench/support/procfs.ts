// CPU time and resident memory of any process (Node, Go, Envoy) from /proc, so every server in a
// comparison is measured the same way, from outside.
import { readFileSync } from 'node:fs';

export interface ProcUsage {
  /** utime + stime, milliseconds (kernel clock ticks: 10 ms resolution at USER_HZ=100). */
  cpuMs: number;
  rssBytes: number;
}

// USER_HZ is 100 on every Linux ABI Node supports; /proc reports CPU time in those ticks.
const TICK_MS = 10;

/** Fields of /proc/<pid>/stat after the `(comm)` field, which may itself contain spaces. */
export function parseStat(stat: string): { utimeTicks: number; stimeTicks: number } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After comm: state(3) ... utime is field 14 and stime field 15 (1-based) → indexes 11 and 12 here.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc stat line: ${stat.slice(0, 120)}`);
  return { utimeTicks: utime, stimeTicks: stime };
}

export function parseRssBytes(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error('no VmRSS line in /proc status (process gone?)');
  return Number(match[1]) * 1024;
}

export function procUsage(pid: number): ProcUsage {
  const { utimeTicks, stimeTicks } = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return { cpuMs: (utimeTicks + stimeTicks) * TICK_MS, rssBytes: parseRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8')) };
}

/** Direct children of a process (e.g. the Envoy a sidecar process started). */
export function childPids(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}
