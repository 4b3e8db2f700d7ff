/** The API key ring: found keys are remembered by the string presented, unknown keys never are. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiKeyRing } from '../src/http/credentials.js';

const acme = { key: 'acme-key-0123456789abcdef', tenant: 'acme' };
const any = { key: 'any-tenant-key-0123456789', tenant: '*' };

describe('ApiKeyRing', () => {
  it('finds each key, again and again, and refuses unknown and near-miss keys', () => {
    const ring = new ApiKeyRing([acme, any]);
    for (let i = 0; i < 3; i++) {
      expect(ring.find(acme.key)).toBe(acme);
      expect(ring.find(any.key)).toBe(any);
    }
    for (const wrong of ['nope', `${acme.key}x`, acme.key.slice(0, -1), acme.key.toUpperCase(), ''])
      expect(() => ring.find(wrong)).toThrow(expect.objectContaining({ code: 'unauthorized' }));
    // After a hit, a near miss of that key is still unknown.
    expect(() => ring.find(`${any.key} `)).toThrow(expect.objectContaining({ code: 'unauthorized' }));
  });

  it('remembers at most one entry per key, however many unknown keys are presented', () => {
    const ring = new ApiKeyRing([acme, any]);
    for (let i = 0; i < 5000; i++) {
      expect(() => ring.find(randomBytes(16).toString('hex'))).toThrow(
        expect.objectContaining({ code: 'unauthorized' }),
      );
    }
    expect(ring.remembered).toBe(0);
    ring.find(acme.key);
    ring.find(acme.key);
    ring.find(any.key);
    expect(ring.remembered).toBe(2);
  });

  it('finds nothing when no key is configured', () => {
    const ring = new ApiKeyRing([]);
    expect(() => ring.find(acme.key)).toThrow(expect.objectContaining({ code: 'unauthorized' }));
    expect(ring.remembered).toBe(0);
  });
});
