/**
 * A back-office staff member's screen: the Tether SDK (`@tether/client`) with the member's token
 * (its tenant is the store), subscribed to the store's orders feed from its start. Every order
 * event the app is handed is recorded with its offset, so the run can check "each once, in
 * order"; refusals (a feed of another store) are recorded as errors.
 */
import { TetherClient } from '@tether/client';

export async function startStaff({ name, store, url, token, log = console.log }) {
  const handled = []; // { channel, offset, type, orderId, status? }
  const refusals = []; // { channel, code }
  const client = new TetherClient({
    url,
    token,
    deviceId: `${name}-laptop`,
    ackIntervalMs: 100,
    reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
    fallback: { enabled: false },
  });
  client.on('status', ({ from, to, reason }) => {
    if (from !== 'idle') log(`  ${name.padEnd(11)} connection ${from} -> ${to} (${reason})`);
  });
  await client.connect();

  const watch = (channel) => {
    const sub = client.subscribe(
      channel,
      (message) => {
        const { orderId, status } = message.data;
        handled.push({ channel, offset: message.offset, type: message.type, orderId, ...(status && { status }) });
        log(
          `  ${name.padEnd(11)} <- ${channel} #${message.offset} ${message.type} ${orderId}${status ? ` ${status}` : ''}`,
        );
      },
      { since: { offset: 0 } }, // the whole retained feed: today's open orders
    );
    sub.on('state', ({ to, error }) => {
      if (to === 'unsubscribed' && error) {
        refusals.push({ channel, code: error.code });
        log(`  ${name.padEnd(11)} x  ${channel} refused: ${error.code}`);
      }
    });
    return new Promise((resolve) => {
      if (sub.state === 'subscribed') return resolve(sub);
      sub.on('state', ({ to }) => {
        if (to !== 'subscribing') resolve(sub);
      });
    });
  };

  return { name, store, client, handled, refusals, watch, feed: await watch(`store:${store.id}:orders`) };
}
