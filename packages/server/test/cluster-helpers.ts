/**
 * Helpers for the cluster tests: a client that follows one channel across reconnects and books
 * every receipt (plain socket.io-client through `connectClient`, reconnected by hand with handshake
 * `positions`, as the SDK does), and HTTP calls to a node.
 */
import { connectClient, waitUntil, type TestClient } from '@tether/testing';
import type { MsgFrame, PollResponse, Position, ResyncFrame } from '@tether/protocol';

export interface Handled {
  offset: number;
  id: string;
}

export interface FollowerOptions {
  channel: string;
  token: string;
  /** Where to connect; asked again for each (re)connection attempt. */
  url: () => string;
  /** Reconnect by itself after a disconnect (100 ms between attempts). Default true. */
  reconnect?: boolean;
  /** How often the handled position is acked (only when it moved). Default 100 ms. */
  ackEveryMs?: number;
}

/**
 * One client of one channel, across connections. It handles a message only when its offset is
 * `position + 1` in the position's epoch, like the SDK; everything else is booked: receipts at or
 * below the position are duplicates, a jump ahead is a gap, a frame of another epoch without a
 * `resync` first is a silent epoch change. The last two are protocol violations.
 */
export class Follower {
  readonly channel: string;
  position: Position = { offset: 0 };
  /** Messages handled, per epoch, in the order handled. */
  readonly handled = new Map<string, Handled[]>();
  /** Receipts at or below the position (redelivery, replay overlap): at-least-once on the wire. */
  duplicates = 0;
  /** Gaps, silent epoch changes, `error` events: what must never happen. */
  readonly violations: string[] = [];
  readonly resyncs: ResyncFrame[] = [];
  /** Messages that came in live frames (no `upTo`) and in replay frames (`upTo`). */
  live = 0;
  replayed = 0;
  connects = 0;
  disconnects = 0;
  private client: TestClient | undefined;
  private acked = 0;
  private stopped = false;
  private readonly ackTimer: NodeJS.Timeout;
  private reconnecting: Promise<void> | undefined;

  constructor(private readonly options: FollowerOptions) {
    this.channel = options.channel;
    this.ackTimer = setInterval(() => this.sendAck(), options.ackEveryMs ?? 100);
  }

  get connected(): boolean {
    return this.client?.socket.connected ?? false;
  }

  /** Connects and subscribes with `sub` from the position (the reply says it is live). */
  async start(): Promise<void> {
    const client = await this.open(undefined);
    const reply = await client.sub(this.channel, this.position);
    if ('error' in reply) throw new Error(`sub refused: ${JSON.stringify(reply.error)}`);
  }

  /** Handled offsets of one epoch (the current one by default). */
  offsets(epoch = this.position.epoch): number[] {
    return (epoch === undefined ? [] : (this.handled.get(epoch) ?? [])).map((m) => m.offset);
  }

  /** Resolves once the position reaches `offset` (in `epoch`, when given). */
  async reach(offset: number, timeoutMs = 10_000, epoch?: string): Promise<void> {
    await waitUntil(
      () =>
        this.position.offset >= offset && (epoch === undefined || this.position.epoch === epoch) ? true : undefined,
      timeoutMs,
      `${this.channel} at ${offset}${epoch ? ` in ${epoch}` : ''} (at ${JSON.stringify(this.position)})`,
    );
  }

  /** Drops the connection from the client side (the server sees a disconnect). */
  drop(): void {
    this.client?.socket.disconnect();
  }

  close(): void {
    this.stopped = true;
    clearInterval(this.ackTimer);
    this.client?.close();
  }

  /** Opens a connection with handshake positions (a reconnect) or without (the first one, then `sub`). */
  private async open(positions: Record<string, Position> | undefined): Promise<TestClient> {
    const client = await connectClient(this.options.url(), this.options.token, {
      wait: false,
      timeoutMs: 3000,
      ...(positions ? { positions } : {}),
    });
    const { socket } = client;
    socket.on('msg', (frame) => this.onMsg(frame));
    socket.on('resync', (frame) => this.onResync(frame));
    socket.on('error', (err) => this.violations.push(`error event ${JSON.stringify(err)}`));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('not connected within 3000 ms')), 3000);
        socket.once('connect', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once('connect_error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
    } catch (err) {
      client.close();
      throw err;
    }
    this.connects++;
    this.client = client;
    this.acked = Math.min(this.acked, this.position.offset);
    socket.once('disconnect', () => {
      this.disconnects++;
      if (this.client === client) this.client = undefined;
      client.close();
      if (!this.stopped && (this.options.reconnect ?? true)) this.reconnecting ??= this.reconnectLoop();
    });
    return client;
  }

  private async reconnectLoop(): Promise<void> {
    const deadline = Date.now() + 20_000;
    try {
      while (!this.stopped && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (this.stopped) return;
        try {
          await this.open({ [this.channel]: { ...this.position } });
          return;
        } catch {
          // The node is gone or refusing: try again (the balancer picks another).
        }
      }
      if (!this.stopped) this.violations.push('could not reconnect within 20 s');
    } finally {
      this.reconnecting = undefined;
    }
  }

  private onMsg(frame: MsgFrame): void {
    if (frame.channel !== this.channel) return;
    const { epoch } = frame;
    // Offset 0 matches any epoch (nothing handled, nothing to miss): an unwritten channel's first life.
    if (this.position.epoch !== undefined && epoch !== this.position.epoch && this.position.offset > 0) {
      this.violations.push(`msg of epoch ${epoch} at ${JSON.stringify(this.position)} without a resync`);
      return;
    }
    this.position.epoch = epoch;
    let list = this.handled.get(epoch);
    if (!list) this.handled.set(epoch, (list = []));
    if (frame.upTo === undefined) this.live += frame.messages.length;
    else this.replayed += frame.messages.length;
    for (const m of frame.messages) {
      if (m.offset <= this.position.offset) {
        this.duplicates++;
        continue;
      }
      if (m.offset !== this.position.offset + 1) {
        this.violations.push(`gap: at ${this.position.offset}, got ${m.offset}`);
      }
      this.position.offset = m.offset;
      list.push({ offset: m.offset, id: m.id });
    }
    if (frame.upTo !== undefined && frame.upTo > this.position.offset) {
      // No relevance rules here: an upTo beyond the last message would skip offsets.
      this.violations.push(`upTo ${frame.upTo} beyond ${this.position.offset}`);
      this.position.offset = frame.upTo;
    }
  }

  private onResync(frame: ResyncFrame): void {
    if (frame.channel !== this.channel) return;
    this.resyncs.push(frame);
    this.position = { epoch: frame.epoch, offset: frame.offset };
    this.acked = 0;
  }

  private sendAck(): void {
    const client = this.client;
    if (!client?.socket.connected || this.position.offset <= this.acked) return;
    this.acked = this.position.offset;
    client.ack({ [this.channel]: this.position.offset });
  }
}

export interface NodeLike {
  url: string;
  apiKey: string;
}

export interface PublishAnswer {
  status: number;
  body: { offset?: number; epoch?: string; duplicate?: boolean; error?: { code: string; message: string } };
}

/** `POST /v1/publish` on one node; never throws on an HTTP error (a network error does throw). */
export async function publish(node: NodeLike, channel: string, id: string, data: unknown): Promise<PublishAnswer> {
  const response = await fetch(`${node.url}/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${node.apiKey}` },
    body: JSON.stringify({ channel, type: 'tick', data, id }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as PublishAnswer['body'] };
}

/** `POST /v1/poll` on one node. */
export async function poll(
  url: string,
  token: string,
  positions: Record<string, Position>,
  wait?: number,
): Promise<PollResponse> {
  const response = await fetch(`${url}/v1/poll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ positions, ...(wait !== undefined ? { wait } : {}) }),
    signal: AbortSignal.timeout(70_000),
  });
  if (response.status !== 200) throw new Error(`poll: ${response.status} ${await response.text()}`);
  return (await response.json()) as PollResponse;
}

/** Everything retained in a channel, through `POST /v1/poll` on one node, page by page. */
export async function readAll(url: string, token: string, channel: string): Promise<{ epoch: string; log: Handled[] }> {
  const log: Handled[] = [];
  let offset = 0;
  for (;;) {
    const answer = (await poll(url, token, { [channel]: { offset } })).channels[channel];
    if (!answer || 'resync' in answer) throw new Error(`readAll: unexpected answer ${JSON.stringify(answer)}`);
    log.push(...answer.messages.map((m) => ({ offset: m.offset, id: m.id })));
    if (answer.upTo === offset) return { epoch: answer.epoch, log };
    offset = answer.upTo;
  }
}

/** 1..n */
export function range(n: number, from = 1): number[] {
  return Array.from({ length: n }, (_, k) => k + from);
}

export async function status(url: string, path: string): Promise<number> {
  const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
  await response.arrayBuffer();
  return response.status;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
