/**
 * The driver's phone: the Tether SDK (`@tether/client`) on the driver's inbox, through the outage
 * proxy. Logs every event the app is handed, and every one the SDK skips as stale (expired, or
 * superseded by a message that arrived with it).
 */
import { TetherClient, type Message } from '@tether/client';

export interface Driver {
  client: TetherClient;
  /** What the app was handed, in order (`describe` of each message). */
  handled: string[];
}

export async function startDriver(options: {
  url: string;
  token: string;
  unitMs?: number;
  log?: (line: string) => void;
}): Promise<Driver> {
  const { url, token, unitMs = 1000, log = console.log } = options;
  const handled: string[] = [];
  const client = new TetherClient({
    url,
    token,
    // A driver app wants to notice a dead connection fast: probe every 5 s, dead after 3 s unanswered.
    probeIntervalMs: 5 * unitMs,
    probeTimeoutMs: 3 * unitMs,
    reconnect: { initialDelayMs: unitMs / 2, maxDelayMs: 2 * unitMs },
    ackIntervalMs: Math.min(1000, unitMs),
    fallback: { enabled: false },
  });
  client.inbox.setHandler((message) => {
    const text = describe(message);
    handled.push(text);
    log(`  driver app  <- ${text}`);
  });
  client.on('stale', ({ message, reason }) => log(`  driver SDK  skipped (${reason} in transit) ${describe(message)}`));
  client.on('status', (change) => log(`  driver      ${change.from} -> ${change.to} (${change.reason})`));
  await client.connect();
  return { client, handled };
}

export function describe(message: Message): string {
  const data = (message.data ?? {}) as { tripId?: string; riderId?: string; n?: number };
  return `${message.type} ${data.tripId ?? `${data.riderId}#${data.n}`}`;
}
