import { describe, expect, it } from 'vitest';
import { parseServeArgs } from '../src/cli/serve-config.js';
import { UsageError } from '../src/cli/errors.js';

describe('tether serve: cluster settings', () => {
  it('TETHER_HEAD_CHECK_MS sets the head/epoch check period; absent, the server default applies', () => {
    expect(parseServeArgs(['--store', 'redis://127.0.0.1:1'], { TETHER_HEAD_CHECK_MS: '250' })).toMatchObject({
      store: 'redis://127.0.0.1:1',
      headCheckIntervalMs: 250,
    });
    expect(parseServeArgs([], {})).not.toHaveProperty('headCheckIntervalMs');
    expect(parseServeArgs([], { TETHER_HEAD_CHECK_MS: '' })).not.toHaveProperty('headCheckIntervalMs');
  });

  it('refuses a period that is not whole milliseconds from 10 to 3600000', () => {
    for (const bad of ['abc', '5', '1.5', '-100', '3600001']) {
      expect(() => parseServeArgs([], { TETHER_HEAD_CHECK_MS: bad })).toThrow(UsageError);
    }
  });
});
