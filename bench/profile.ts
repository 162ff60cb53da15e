// Where our service's CPU goes: the self time of a V8 `.cpuprofile` (node --cpu-prof) grouped by
// function and by where the code lives (our src/, a dependency, Node internals, GC), so a missed
// target comes with what dominates it.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  /** `function (file:line)` or a pseudo-frame such as `(garbage collector)`. */
  frame: string;
  /** Share of busy samples, 0..1. */
  selfShare: number;
}

export interface ProfileSummary {
  /** Busy samples (idle excluded). */
  samples: number;
  /** Self time by owner: `src/pipeline`, `node_modules/@grpc/grpc-js`, `node:internal`, `(gc)`, … */
  byOwner: HotSpot[];
  top: HotSpot[];
}

/** Groups a script URL by the code that owns it. */
export function owner(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return `node_modules/${inModules[1]}`;
  const inRepo = /\/((?:src|bench|test)\/[^/]+)/.exec(url);
  return inRepo ? inRepo[1]! : url;
}

export function summariseProfile(profile: CpuProfile, topN = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map<number, number>();
  if (profile.samples) for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  else for (const node of profile.nodes) counts.set(node.id, node.hitCount ?? 0);
  const weighed: Array<[ProfileNode['callFrame'], number]> = [];
  for (const [id, count] of counts) {
    const node = byId.get(id);
    // Shares are of busy time: idle and unattributed samples say nothing about what a decision costs.
    if (node && count > 0 && node.callFrame.functionName !== '(idle)' && node.callFrame.functionName !== '(program)') weighed.push([node.callFrame, count]);
  }
  return ranked(weighed, topN);
}

/** Frames and owners by their share of the total weight (samples, bytes). */
function ranked(weighed: Iterable<[ProfileNode['callFrame'], number]>, topN: number): ProfileSummary {
  let total = 0;
  const frames = new Map<string, number>();
  const owners = new Map<string, number>();
  for (const [{ functionName, url, lineNumber }, weight] of weighed) {
    total += weight;
    const file = url.replace(/^.*?\/(node_modules|src|bench|test)\//, '$1/');
    const frame = url ? `${functionName || '(anonymous)'} (${file}:${lineNumber + 1})` : functionName;
    frames.set(frame, (frames.get(frame) ?? 0) + weight);
    const who = owner(url, functionName);
    owners.set(who, (owners.get(who) ?? 0) + weight);
  }
  const top = (map: Map<string, number>, n: number): HotSpot[] =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([frame, weight]) => ({ frame, selfShare: total ? weight / total : 0 }));
  return { samples: total, byOwner: top(owners, 12), top: top(frames, topN) };
}

export function summariseProfileFile(file: string, topN?: number): ProfileSummary {
  return summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, topN);
}

interface HeapProfileNode {
  callFrame: ProfileNode['callFrame'];
  /** Bytes allocated by this frame itself, estimated from the samples. */
  selfSize: number;
  children: HeapProfileNode[];
}

/**
 * Who allocates: a sampling heap profile (bench/support/allocationSampler.ts) by the bytes each
 * function allocated itself, collected or not; `samples` is then the bytes in all.
 */
export function summariseAllocations(profile: { head: HeapProfileNode }, topN = 15): ProfileSummary {
  const weighed: Array<[ProfileNode['callFrame'], number]> = [];
  const stack = [profile.head];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.selfSize > 0) weighed.push([node.callFrame, node.selfSize]);
    stack.push(...node.children);
  }
  return ranked(weighed, topN);
}
