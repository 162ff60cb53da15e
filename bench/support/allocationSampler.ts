// `node --import <compiled allocationSampler.js>`: V8's sampling heap profiler over a process's whole
// life, counting objects the young and old generation collectors freed as well as those still live.
// `--heap-prof` keeps only what is live at exit, which on a decision path is almost nothing: what
// GC spends its time on is the short-lived garbage, and this profile says who allocates it. Written
// at exit as `<BENCH_ALLOCATION_PROFILE_DIR>/alloc.<pid>.heapprofile` (Chrome DevTools reads it;
// bench/profile.ts summarises it).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env['BENCH_ALLOCATION_PROFILE_DIR'];
if (!dir) throw new Error('allocationSampler: set BENCH_ALLOCATION_PROFILE_DIR to the directory the profile goes to');
const session = new Session();
session.connect();
// One sample per 32 KiB allocated on average (V8's default): enough samples over a bench run's
// hundreds of MiB. The sampler costs CPU, so a run with it measures allocations, not CPU.
session.post('HeapProfiler.startSampling', { samplingInterval: 32 * 1024, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
// An in-process session answers synchronously, so the profile is written before the process ends.
process.on('exit', () => {
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (error) console.error(`allocationSampler: ${error.message}`);
    else writeFileSync(path.join(dir, `alloc.${process.pid}.heapprofile`), JSON.stringify(result.profile));
  });
});
