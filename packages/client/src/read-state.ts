/**
 * Read receipts and unread counts on the client (docs/client.md, "Read receipts and unread
 * counts"). The user's read position per channel is kept by the server (all devices, monotonic);
 * this keeps what the client learnt of it, and of each channel's head, to keep badges right:
 *
 * - `markRead` sends `read {channel, offset}` on the socket (or `POST /v1/read` when there is none)
 *   unless the position is already there; the answer is the position after.
 * - A `read` notice of this user (another device marked read) moves the position: `client.on('read')`.
 * - `unread()` asks the server (`unread` frame, or `GET /v1/unread`) and from then on *tracks* the
 *   channels it answered: their counts are kept from handled messages (the head moves) and read
 *   positions (own marks and own notices), and each change is an `unread` event. A channel this
 *   client is not subscribed to gets no messages here: ask `unread()` again to refresh it.
 */
import {
  ErrorCode,
  TetherError,
  isValidChannel,
  type ReadNotice,
  type ReadReply,
  type UnreadCount,
  type UnreadReply,
} from '@tether/protocol/wire';
import { callServer, type ServerHttp } from './server-http.js';
import { isRecord, type Outcome, type SocketLink } from './socket-link.js';

export interface ReadContext {
  channel: string;
  /** Who read. */
  sub: string;
  /** Their read position now. */
  offset: number;
}

export interface UnreadContext extends UnreadCount {
  channel: string;
}

export interface ReadStateDeps {
  link: () => SocketLink;
  http: () => ServerHttp;
  ownSub: () => string | undefined;
  /** Deadline of a socket request (then it goes over HTTP). */
  timeoutMs: number;
  /** The user read on another device. */
  ownRead: (context: ReadContext) => void;
  /** A tracked channel's count changed. */
  unread: (context: UnreadContext) => void;
  /** A `read` notice for the channel's subscription (anyone's). */
  channelRead: (context: ReadContext) => void;
}

export class ReadState {
  private readonly positions = new Map<string, number>();
  private readonly heads = new Map<string, number>();
  /** Count last told (`head:read`; '' before the first), by tracked channel. */
  private readonly told = new Map<string, string>();

  constructor(private readonly deps: ReadStateDeps) {}

  /** The user's read position in `channel` as far as this client knows (undefined: not known). */
  position(channel: string): number | undefined {
    return this.positions.get(channel);
  }

  /** The tracked counts now. */
  counts(): Record<string, UnreadCount> {
    const out: Record<string, UnreadCount> = {};
    for (const channel of this.told.keys()) out[channel] = this.countOf(channel);
    return out;
  }

  async markRead(channel: string, offset: number): Promise<number> {
    if (!isValidChannel(channel)) throw new TetherError(ErrorCode.InvalidChannel, `invalid channel name '${channel}'`);
    if (!Number.isSafeInteger(offset) || offset < 1) {
      throw new TetherError(ErrorCode.BadRequest, `markRead offset must be a whole number ≥ 1, got ${String(offset)}`);
    }
    const known = this.positions.get(channel);
    if (known !== undefined && offset <= known) return known;
    const frame = { channel, offset };
    const reply = await this.ask<ReadReply>('read', frame, isReadReply, () =>
      callServer(this.deps.http(), { method: 'POST', path: '/v1/read', what: 'read', body: frame }),
    );
    this.learnRead(channel, reply.offset);
    return this.positions.get(channel) ?? reply.offset;
  }

  async unread(channels?: readonly string[]): Promise<Record<string, UnreadCount>> {
    const frame = channels === undefined ? {} : { channels: [...channels] };
    const query = (channels ?? []).map((c) => `channel=${encodeURIComponent(c)}`).join('&');
    const reply = await this.ask<UnreadReply>('unread', frame, isUnreadReply, () =>
      callServer(this.deps.http(), { method: 'GET', path: `/v1/unread${query ? `?${query}` : ''}`, what: 'unread' }),
    );
    const answer: Record<string, UnreadCount> = {};
    for (const [channel, count] of Object.entries(reply.channels)) {
      this.raise(this.heads, channel, count.head);
      this.raise(this.positions, channel, count.read);
      if (!this.told.has(channel)) this.told.set(channel, '');
      this.tell(channel);
      answer[channel] = this.countOf(channel);
    }
    return answer;
  }

  /** A `read` notice from the server. */
  notice(notice: ReadNotice): void {
    const context: ReadContext = { channel: notice.channel, sub: notice.sub, offset: notice.offset };
    this.deps.channelRead(context);
    if (notice.sub !== this.deps.ownSub()) return;
    const before = this.positions.get(notice.channel);
    this.learnRead(notice.channel, notice.offset);
    if (before === undefined || notice.offset > before) this.deps.ownRead(context);
  }

  /** A subscribed channel's position moved (messages handled): its head is at least there. */
  handled(channel: string, offset: number): void {
    this.raise(this.heads, channel, offset);
    if (this.told.has(channel)) this.tell(channel);
  }

  private learnRead(channel: string, offset: number): void {
    this.raise(this.positions, channel, offset);
    if (!this.told.has(channel)) this.told.set(channel, '');
    this.tell(channel);
  }

  private countOf(channel: string): UnreadCount {
    const read = this.positions.get(channel) ?? 0;
    const head = Math.max(this.heads.get(channel) ?? 0, read);
    return { head, read, unread: head - read };
  }

  /** Emits `unread` when the count changed since last told. */
  private tell(channel: string): void {
    const count = this.countOf(channel);
    const key = `${count.head}:${count.read}`;
    if (this.told.get(channel) === key) return;
    this.told.set(channel, key);
    this.deps.unread({ channel, ...count });
  }

  private raise(map: Map<string, number>, channel: string, value: number): void {
    if (value > (map.get(channel) ?? -1)) map.set(channel, value);
  }

  /** Over the socket when connected; over HTTP when it is not (or the request was lost). */
  private async ask<T>(
    event: string,
    frame: unknown,
    isReply: (value: unknown) => value is T,
    overHttp: () => Promise<unknown>,
  ): Promise<T> {
    const outcome: Outcome<T> = await this.deps.link().request(event, frame, this.deps.timeoutMs, isReply);
    if (outcome.kind === 'reply') return outcome.value;
    if (outcome.kind === 'error') throw outcome.error;
    const body = await overHttp();
    if (!isReply(body)) throw new TetherError(ErrorCode.ProtocolError, `malformed ${event} answer from the server`);
    return body;
  }
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function isReadReply(value: unknown): value is ReadReply {
  return isRecord(value) && isCount(value['offset']);
}

function isUnreadCount(value: unknown): value is UnreadCount {
  return isRecord(value) && isCount(value['head']) && isCount(value['read']) && isCount(value['unread']);
}

function isUnreadReply(value: unknown): value is UnreadReply {
  const channels = isRecord(value) ? value['channels'] : undefined;
  return (
    isRecord(channels) && Object.entries(channels).every(([c, count]) => isValidChannel(c) && isUnreadCount(count))
  );
}
