/** The latency histograms (metrics/latency.ts): quantiles as `histogram_quantile` reads them, and their exposition. */
import { describe, expect, it } from 'vitest';
import { LatencyFamily } from '../../src/metrics/latency.js';

describe('LatencySeries', () => {
  it('answers quantiles by linear interpolation within the bucket, in ms', () => {
    const series = new LatencyFamily('t_seconds', 'help').series();
    expect(series.summary()).toEqual({ count: 0, p50: null, p90: null, p99: null });
    for (let i = 0; i < 90; i++) series.observe(0.003);
    for (let i = 0; i < 10; i++) series.observe(0.2);
    const { count, p50, p90, p99 } = series.summary();
    expect(count).toBe(100);
    expect(p50).toBeCloseTo(2.5 + 2.5 * (50 / 90), 6); // in (2.5 ms, 5 ms]
    expect(p90).toBeCloseTo(5, 6); // the 90th observation closes that bucket
    expect(p99).toBeCloseTo(100 + 150 * (9 / 10), 6); // in (100 ms, 250 ms]
  });

  it('counts a negative age (clocks apart) as 0 and one above every bound as the last bound', () => {
    const series = new LatencyFamily('t_seconds', 'help', [0.1, 1]).series();
    series.observe(-5);
    series.observe(100);
    expect(series.summary()).toMatchObject({ count: 2, p99: 1000 });
    expect(series.lines('t_seconds')).toEqual([
      't_seconds_bucket{le="0.1"} 1',
      't_seconds_bucket{le="1"} 1',
      't_seconds_bucket{le="+Inf"} 2',
      't_seconds_sum 100',
      't_seconds_count 2',
    ]);
  });
});

describe('LatencyFamily', () => {
  it('renders HELP, TYPE and each series with its labels before `le`, cumulative buckets', () => {
    const family = new LatencyFamily('store_seconds', 'Store latency.', [0.001, 0.01]);
    family.series({ op: 'read', engine: 'memory' }).observe(0.0005);
    family.series({ op: 'read', engine: 'memory' }).observe(0.005);
    family.series({ op: 'append', engine: 'memory' });
    expect(family.render()).toBe(
      [
        '# HELP store_seconds Store latency.',
        '# TYPE store_seconds histogram',
        'store_seconds_bucket{op="read",engine="memory",le="0.001"} 1',
        'store_seconds_bucket{op="read",engine="memory",le="0.01"} 2',
        'store_seconds_bucket{op="read",engine="memory",le="+Inf"} 2',
        'store_seconds_sum{op="read",engine="memory"} 0.0055',
        'store_seconds_count{op="read",engine="memory"} 2',
        'store_seconds_bucket{op="append",engine="memory",le="0.001"} 0',
        'store_seconds_bucket{op="append",engine="memory",le="0.01"} 0',
        'store_seconds_bucket{op="append",engine="memory",le="+Inf"} 0',
        'store_seconds_sum{op="append",engine="memory"} 0',
        'store_seconds_count{op="append",engine="memory"} 0',
        '',
      ].join('\n'),
    );
  });

  it('escapes label values', () => {
    const family = new LatencyFamily('x_seconds', 'h', [1]);
    family.series({ engine: 'a"b\\c\nd' });
    expect(family.render()).toContain('x_seconds_count{engine="a\\"b\\\\c\\nd"} 0');
  });
});
