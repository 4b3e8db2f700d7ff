import { describe, expect, it } from 'vitest';
import { runInboxStep } from '../lib/inbox-publisher.js';

// The loaders judge each inbox by the per-user ranges the publisher reports: they must cover
// exactly what was sent to each user, and a hole must be flagged, not hidden.
describe('bench inbox publisher', () => {
  it('reports, per user, the range of its own offsets the step published', async () => {
    const heads = new Int32Array([5, 0, 0, 0, 0, 0, 0]);
    const sentTo = new Int32Array(7);
    const r = await runInboxStep({ step: 0, rate: 1000, seconds: 0.1 }, 7, (user) => {
      const head = (heads.at(user) ?? 0) + 1;
      heads.set([head], user);
      sentTo.set([(sentTo.at(user) ?? 0) + 1], user);
      return head;
    });
    expect(r.published).toBe(100);
    expect(r.errors).toBe(0);
    expect([r.first, r.last, r.contiguous]).toEqual([0, 99, true]);
    expect(r.inbox.usersWithGaps).toBe(0);
    expect(sentTo.reduce((a, b) => a + b, 0)).toBe(100);
    sentTo.forEach((sent, u) => {
      const head = heads.at(u) ?? -1;
      const range = [r.inbox.first[u], r.inbox.last[u]];
      expect(range).toEqual(sent === 0 ? [-1, -1] : [head - sent + 1, head]);
    });
  });

  it('takes async sends, counts refusals as errors and flags a user whose offsets have a hole', async () => {
    let n = 0;
    const r = await runInboxStep({ step: 1, rate: 1000, seconds: 0.05 }, 1, async () => {
      n++;
      if (n === 3) throw new Error('store down');
      return n === 5 ? 100 : n; // offsets 1, 2, 4, 100, 6, …: a hole
    });
    expect(r.published).toBe(49);
    expect(r.errors).toBe(1);
    expect(r.firstError).toBe('store down');
    expect(r.inbox.first[0]).toBe(1);
    expect(r.inbox.usersWithGaps).toBe(1);
  });
});
