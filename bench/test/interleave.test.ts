import { describe, expect, it } from 'vitest';
import { runInterleaved } from '../lib/interleave.js';

/**
 * `--interleave` decides which steps are compared with which: every rate on every live system, the
 * turn order reversed on every other rung, a system that fails dropped with its error (the others
 * go on), every system stopped. The "processes" here are stand-ins answering the ladder's calls.
 */
describe('bench: systems interleaved rung by rung', () => {
  it('takes turns at every rate, drops a failed or stopped system, stops every one', { timeout: 30_000 }, async () => {
    const stepsRun: string[] = [];
    const stopped: string[] = [];
    const finished: string[] = [];
    const system = (name: string, keptUpAt: (rate: number) => boolean, openFails = false) => {
      const result = { system: name, steps: [] as unknown[], errors: [] as string[] };
      const child = {
        call: async (method: string, args: { rate?: number }) => {
          if (method === 'step') {
            stepsRun.push(`${name}@${args.rate}`);
            return { first: 1, last: 1, rate: args.rate };
          }
          if (method === 'progress') return { reached: 1, alive: 1 };
          return {};
        },
      };
      return {
        name,
        result,
        open: async () => {
          if (openFails) throw new Error(`${name}: server did not start`);
          return {
            workers: [child],
            publisher: child,
            snapshot: async () => ({}),
            drained: async () => ({}),
            row: (d: { rate: number }) => ({ rate: d.rate, keptUp: keptUpAt(d.rate) }),
            print: () => undefined,
            result,
          };
        },
        finish: async () => void finished.push(name),
        stop: async () => void stopped.push(name),
      };
    };
    const opts = { rates: [1, 2, 3], stepSeconds: 1, drainSeconds: 1, maxFails: 2, warmupSeconds: 0 };

    const results = await runInterleaved(
      [system('a', () => true), system('broken', () => true, true), system('b', (rate) => rate < 2)],
      opts,
    );

    // b fails at 2 and 3 (two in a row: stopped after its rate-3 step); the order flips at rate 2.
    expect(stepsRun).toEqual(['a@1', 'b@1', 'b@2', 'a@2', 'a@3', 'b@3']);
    expect(results.map((r) => r.errors)).toEqual([[], ['broken: server did not start'], []]);
    expect(finished).toEqual(['a', 'b']);
    expect(stopped.sort()).toEqual(['a', 'b', 'broken']);
  });
});
