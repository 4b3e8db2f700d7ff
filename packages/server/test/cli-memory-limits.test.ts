import { describe, expect, it } from 'vitest';
import { parseServeArgs } from '../src/cli/serve-config.js';
import { UsageError } from '../src/cli/errors.js';

describe('tether serve: memory limits', () => {
  it('TETHER_MAX_QUEUED_BYTES and TETHER_MAX_BATCH_BYTES set the limits; absent or empty, the server defaults apply', () => {
    expect(parseServeArgs([], { TETHER_MAX_QUEUED_BYTES: '8388608', TETHER_MAX_BATCH_BYTES: '524288' })).toMatchObject({
      maxQueuedBytes: 8_388_608,
      maxBatchBytes: 524_288,
    });
    const plain = parseServeArgs([], { TETHER_MAX_QUEUED_BYTES: '', TETHER_MAX_BATCH_BYTES: '' });
    expect(plain).not.toHaveProperty('maxQueuedBytes');
    expect(plain).not.toHaveProperty('maxBatchBytes');
  });

  it('refuses a value that is not a whole number of bytes, at least 1024', () => {
    for (const bad of ['abc', '1023', '1.5', '-4096', '4MiB', '1e9']) {
      expect(() => parseServeArgs([], { TETHER_MAX_QUEUED_BYTES: bad })).toThrow(UsageError);
      expect(() => parseServeArgs([], { TETHER_MAX_BATCH_BYTES: bad })).toThrow(UsageError);
    }
  });
});
