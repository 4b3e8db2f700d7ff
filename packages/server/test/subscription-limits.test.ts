/**
 * `maxChannelsPerConnection` holds when `sub` frames arrive all at once (the slot is reserved
 * before the first await), and the inbox `user:<sub>` cannot be unsubscribed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { connectClient, isErrorReply, SlowStore, startServer, type TestServer } from '@tether/testing';
import { MemoryLogStore } from '@tether/server';

const MAX_CHANNELS = 20;
let srv: TestServer;

beforeAll(async () => {
  // Store reads that take a while widen the window between the limit check and the subscription.
  const store = new SlowStore(new MemoryLogStore(), { readDelayMs: () => 5 });
  srv = await startServer({ store, maxChannelsPerConnection: MAX_CHANNELS });
});

afterAll(async () => {
  await srv?.close();
});

describe('subscription limits', () => {
  it('concurrent subs never overshoot maxChannelsPerConnection (the inbox included)', async () => {
    const client = await connectClient(srv.url, await srv.token({ sub: 'many', channels: ['room:*'] }));
    const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => client.sub(`room:${i % 250}`)));
    const accepted = new Set(replies.flatMap((r) => (isErrorReply(r) ? [] : [r.channel])));
    const refused = replies.filter(isErrorReply).map((r) => r.error.code);
    expect(accepted.size).toBe(MAX_CHANNELS - 1); // the inbox holds one slot
    expect(new Set(refused)).toEqual(new Set(['too_many_channels']));
    // A channel already subscribed is answered again, not refused; a new one is refused.
    const again = [...accepted][0]!;
    expect(isErrorReply(await client.sub(again))).toBe(false);
    expect(await client.sub('room:other')).toMatchObject({ error: { code: 'too_many_channels' } });
    // An unsub frees a slot.
    expect(isErrorReply(await client.unsub(again))).toBe(false);
    expect(isErrorReply(await client.sub('room:other'))).toBe(false);
    client.close();
  });

  it('the inbox cannot be unsubscribed: forbidden, and it keeps delivering', async () => {
    const client = await connectClient(srv.url, await srv.token({ sub: 'alice', channels: ['room:*'] }));
    expect(await client.unsub('user:alice')).toMatchObject({ error: { code: 'forbidden' } });
    // Another user's inbox or a channel never subscribed: nothing to do, as before.
    expect(isErrorReply(await client.unsub('room:never'))).toBe(false);
    const marker = randomUUID();
    await srv.server.publish({ channel: 'user:alice', type: 'dm', data: marker });
    await client.messages.waitFor((m) => m.channel === 'user:alice' && m.data === marker);
    client.close();
  });
});
