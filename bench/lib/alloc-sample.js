/**
 * V8's sampling heap profiler in this process, counting the objects garbage collection has already
 * freed too (what a plain `--heap-prof` leaves out): where the bytes a run allocates come from.
 * `BENCH_ALLOC_PROFILE=<file>` in a bench server turns it on from its first step to its exit; read
 * the file with `node bench/tools/alloc-top.js <file>`.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

/** @type {Session | null} */
let session = null;

/** Starts sampling (once): one sample per `interval` bytes allocated on average. */
export function startAllocSampling(interval = 8192) {
  if (session) return;
  session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', {
    samplingInterval: interval,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
}

/** Stops sampling and writes the profile (a `.heapprofile`); synchronous, so it may run at exit. */
export function stopAllocSampling(file) {
  if (!session) return;
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (!err) writeFileSync(file, JSON.stringify(result.profile));
  });
  session.disconnect();
  session = null;
}
