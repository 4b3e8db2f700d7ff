import { describe, expect, it } from 'vitest';
import { latencyByRate, median, medianRatios, medianTargets, runRounds } from '../lib/rounds.js';

const step = (rate: number, keptUp: boolean, p50: number, p99: number) => ({ rate, keptUp, p50, p99 });

// `fanout --rounds N` decides the p50 goal by these medians: they must pick the middle round and
// never compare a rate one of the systems failed.
describe('bench ratios over rounds', () => {
  it('compares latency only at rates both systems kept up with', () => {
    const tether = { steps: [step(5, true, 44, 90), step(10, true, 50, 120), step(20, true, 80, 200)] };
    const plain = { steps: [step(5, true, 40, 100), step(10, true, 45, 110), step(20, false, 900, 2000)] };
    const byRate = latencyByRate(tether, plain);
    expect(Object.keys(byRate)).toEqual(['5', '10']);
    expect(byRate['5']).toEqual({ p50Ratio: 1.1, p99Ratio: 0.9, tether: 44, socketio: 40 });
  });

  it('takes the median of the rounds, and drops a rate that a round did not keep up with', () => {
    const round = (deliveredRatio: number, t5: number, p5: number, with10: boolean) => ({
      deliveredRatio,
      latencyByRate: latencyByRate(
        { steps: [step(5, true, t5, 100), step(10, with10, 60, 150)] },
        { steps: [step(5, true, p5, 100), step(10, true, 50, 150)] },
      ),
    });
    const m = medianRatios([round(2, 47, 41, true), round(1, 39, 42, false), round(3, 40, 40, true)]);
    expect(m.rounds).toBe(3);
    expect(m.roundsCompared).toBe(3);
    expect(m.deliveredRatio).toBe(2);
    expect(Object.keys(m.latency)).toEqual(['5']);
    expect(m.latency['5']?.p50Ratio).toBeCloseTo(1, 10);
    expect(m.latency['5']?.rounds).toEqual([
      { tether: 47, socketio: 41 },
      { tether: 39, socketio: 42 },
      { tether: 40, socketio: 40 },
    ]);
  });

  it('gives no kept-up median when a round had nothing to compare', () => {
    const m = medianRatios([{ deliveredRatio: 20 }, null, { deliveredRatio: 10 }]);
    expect(m.roundsCompared).toBe(2);
    expect(m.deliveredRatio).toBeNull();
  });

  it('median: middle value, mean of the middle two, null for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([null, Number.NaN])).toBeNull();
  });

  it('ingress goals: the median of the rounds, 0 where the system kept nothing, none where the baseline kept nothing', () => {
    const goal = { system: 'tether-sqlite', baseline: 'baseline', goal: 0.8 };
    const round = (ratio: number) => [{ ...goal, ratio }];
    const all = new Set(['baseline', 'tether-sqlite']);
    const [met] = medianTargets([goal], [round(0.65), round(1.08), round(0.89)], [all, all, all]);
    expect(met?.ratio).toBe(0.89);
    expect(met?.met).toBe(true);
    const [zero] = medianTargets([goal], [round(0.9), [], []], [all, new Set(['baseline']), new Set(['baseline'])]);
    expect(zero?.ratios).toEqual([0.9, 0, 0]);
    expect(zero?.met).toBe(false);
    const [none] = medianTargets([goal], [round(0.9), [], round(0.7)], [all, new Set(['tether-sqlite']), all]);
    expect(none?.ratios).toEqual([0.9, null, 0.7]);
    expect(none?.ratio).toBeCloseTo(0.8, 10);
  });

  it('runs the systems in ABBA order and reports each round in the order of the names', async () => {
    const ran: string[] = [];
    const reported: string[][] = [];
    const rounds = await runRounds(
      3,
      ['plain', 'tether'],
      async (name) => {
        ran.push(name);
        return { system: name };
      },
      (results) => {
        reported.push(results.map((r) => r.system));
        return reported.length;
      },
    );
    expect(ran).toEqual(['plain', 'tether', 'tether', 'plain', 'plain', 'tether']);
    expect(reported).toEqual([
      ['plain', 'tether'],
      ['plain', 'tether'],
      ['plain', 'tether'],
    ]);
    expect(rounds).toEqual([1, 2, 3]);
  });
});
