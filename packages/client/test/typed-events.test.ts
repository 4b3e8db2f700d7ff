/**
 * Typed payloads: an event map makes a handler's message a union discriminated by `type`, and
 * `publish` check `data` against `type`. The type assertions are checked by the type-check
 * (`npm run typecheck`: `tsc -p tsconfig.test.json`), where every `@ts-expect-error` line must be
 * an error; the runtime test shows the same code against a real server.
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { TestBed, waitUntil } from '@tether/testing';
import type { Message, MessageHandler, PublishArgs, TetherClient, TypedMessage } from '@tether/client';
import { Clients, fast } from './helpers.js';

type TripEvents = {
  'trip:requested': { trip: number };
  'trip:cancelled': { reason: string };
};

/** An interface works as a map too. */
interface InboxEvents {
  'offer:made': { price: number };
}

const bed = new TestBed();
const clients = new Clients();
afterEach(async () => {
  await clients.closeAll();
  await bed.close();
});

/** Never called: the type-check reads it. */
function typeLevel(client: TetherClient): void {
  client.subscribe<TripEvents>('trip:1', (m) => {
    expectTypeOf(m.type).toEqualTypeOf<'trip:requested' | 'trip:cancelled'>();
    expectTypeOf(m.channel).toEqualTypeOf<string>();
    expectTypeOf(m.offset).toEqualTypeOf<number>();
    if (m.type === 'trip:requested') {
      expectTypeOf(m.data).toEqualTypeOf<{ trip: number }>();
      // @ts-expect-error a requested trip has no reason
      void m.data.reason;
    } else {
      expectTypeOf(m.data).toEqualTypeOf<{ reason: string }>();
    }
  });

  // @ts-expect-error not a type of the map
  client.subscribe<TripEvents>('trip:1', (m) => m.type === 'trip:started');

  // Without a map: the plain Message, as before.
  client.subscribe('feed:1', (m) => {
    expectTypeOf(m).toEqualTypeOf<Message>();
    expectTypeOf(m.data).toBeUnknown();
  });
  expectTypeOf<TypedMessage>().toEqualTypeOf<Message>();
  expectTypeOf<MessageHandler>().toEqualTypeOf<(message: Message) => void | Promise<void>>();

  client.inbox.setHandler<InboxEvents>((m) => {
    expectTypeOf(m.type).toEqualTypeOf<'offer:made'>();
    expectTypeOf(m.data.price).toEqualTypeOf<number>();
  });

  void client.publish<TripEvents>('trip:1', 'trip:requested', { trip: 7 });
  void client.publish<TripEvents>('trip:1', 'trip:cancelled', { reason: 'rain' }, { ttl: 1000 });
  // @ts-expect-error the data of another type
  void client.publish<TripEvents>('trip:1', 'trip:requested', { reason: 'rain' });
  // @ts-expect-error not a type of the map
  void client.publish<TripEvents>('trip:1', 'trip:started', { trip: 7 });
  // Without a map: any type, any data.
  void client.publish('feed:1', 'anything', [1, 2, 3]);
  expectTypeOf<PublishArgs<TripEvents>[0]>().toEqualTypeOf<'trip:requested' | 'trip:cancelled'>();
}

describe('typed payloads', () => {
  it('a typed subscription and typed publishes carry the payloads as typed', async () => {
    expect(typeof typeLevel).toBe('function');
    const server = await bed.start();
    const client = clients.make({
      url: server.url,
      token: await server.token({ sub: 'u1', channels: ['trip:*'], publish: ['trip:*'] }),
      ...fast,
    });
    const seen: string[] = [];
    client.subscribe<TripEvents>('trip:1', (m) => {
      seen.push(m.type === 'trip:requested' ? `requested ${m.data.trip}` : `cancelled: ${m.data.reason}`);
    });
    await client.connect();
    await client.publish<TripEvents>('trip:1', 'trip:requested', { trip: 7 });
    await client.publish<TripEvents>('trip:1', 'trip:cancelled', { reason: 'rain' });
    await waitUntil(() => (seen.length >= 2 ? true : undefined), 5000, 'two trip messages');
    expect(seen).toEqual(['requested 7', 'cancelled: rain']);
  });
});
