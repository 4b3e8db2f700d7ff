/** Ids the server makes for messages published without one: random version-4 UUIDs, never repeated. */
import { describe, expect, it } from 'vitest';
import { newMessageId } from '../../src/delivery/message-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newMessageId', () => {
  it('makes version-4 UUIDs, each once, across many refills of its random bytes', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const id = newMessageId();
      expect(id).toMatch(UUID_V4);
      seen.add(id);
    }
    expect(seen.size).toBe(10_000);
  });
});
