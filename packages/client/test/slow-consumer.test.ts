/**
 * The SDK behind a pipe that stops carrying data (the fault proxy's stall: the server's writes
 * back up as they do for a frozen tab): the server cuts the socket at `maxQueuedBytes`
 * (`slow_consumer`), the SDK sees its transport close, reconnects and resumes from its position,
 * and the handler sees every message once, in order. The reason reaches the app as an `error`
 * event once the device is connected again.
 */
import { describe, expect, it } from 'vitest';
import { waitUntil } from '@tether/testing';
import { ClientState, StatusReason, type ClientErrorContext } from '@tether/client';
import { ErrorCode } from '@tether/protocol';
import { useFaultBed, Recorder, fast, range, statusLog } from './helpers.js';

const faults = useFaultBed();
const { bed, clients } = faults;

describe('a slow consumer', () => {
  it('is cut by the server, reconnects, resumes, and handles every message once', async () => {
    const server = await bed.start({ retention: { maxMessages: 5000 } });
    const proxy = await faults.proxyTo(server);
    const client = clients.make({
      url: proxy.url,
      token: await server.token({ sub: 'u1', channels: ['feed:*'] }),
      ...fast,
    });
    const statuses = statusLog(client);
    const errors: ClientErrorContext[] = [];
    client.on('error', (e) => errors.push(e));
    const recorder = new Recorder();
    client.subscribe('feed:s', recorder.handler, { since: { offset: 0 } });
    await client.connect();
    const blob = 'b'.repeat(60_000);
    const publish = async (from: number, to: number): Promise<void> => {
      for (let n = from; n <= to; n += 10) {
        await server.server.publishMany(
          range(n, Math.min(to, n + 9)).map((i) => ({ channel: 'feed:s', type: 't', data: { i, blob } })),
        );
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await publish(1, 10);
    await waitUntil(() => (recorder.handled.length === 10 ? true : undefined));

    proxy.stall(); // the client stops taking data: the server's queue for it grows
    await publish(11, 400); // 23 MB
    await waitUntil(() => (server.server.stats().slowConsumers === 1 ? true : undefined), 5000, 'the cut');
    proxy.resume(); // what the pipe held arrives, then the close
    await waitUntil(() => (recorder.handled.length >= 400 ? true : undefined), 15_000, 'all handled');

    expect(recorder.offsets('feed:s')).toEqual(range(1, 400));
    expect(statuses.map((s) => [s.to, s.reason])).toEqual([
      [ClientState.Connecting, StatusReason.ConnectCalled],
      [ClientState.Connected, StatusReason.Connected],
      [ClientState.Reconnecting, StatusReason.TransportClose],
      [ClientState.Connected, StatusReason.Connected],
    ]);
    await waitUntil(() => (errors.length > 0 ? true : undefined));
    expect(errors.map((e) => e.error.code)).toEqual([ErrorCode.SlowConsumer]);
    expect(server.server.stats().slowConsumers).toBe(1);
  });
});
