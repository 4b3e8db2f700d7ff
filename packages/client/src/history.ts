/**
 * `GET /v1/history`: a channel's retained log paged backwards, newest first, for notification
 * lists. With the user's token and the same permission as subscribing; it reads, it does not
 * subscribe (positions, acks and handlers are untouched).
 */
import { ErrorCode, TetherError, isEnvelope, isValidChannel, type Envelope, type Message } from '@tether/protocol/wire';
import type { EventMap, TypedMessage, UntypedEvents } from './events.js';
import { callServer, type ServerHttp } from './server-http.js';
import { isRecord } from './socket-link.js';

export interface HistoryOptions {
  /** Messages before this offset (exclusive): a page's `next`. Default: from the newest. */
  before?: number;
  /** Messages per page, 1 to the server's `maxHistoryLimit` (its default too, 100 unless set). */
  limit?: number;
  /**
   * Only what the server's relevance rules still keep (`relevant=true`): the final state, e.g. an
   * edited message's last version, a deleted one's delete. Default false: everything the log holds.
   */
  relevant?: boolean;
  /** Aborts the request. */
  signal?: AbortSignal;
}

export interface HistoryPage<E extends EventMap = UntypedEvents> {
  channel: string;
  /** The log's life the offsets belong to; a page with another epoch does not continue the previous one. */
  epoch: string;
  /** Newest first. Not filtered by relevance rules (what the log still holds) unless `relevant`. */
  messages: TypedMessage<E>[];
  /** Pass as `before` for the next (older) page; null once the start of retention is reached. */
  next: number | null;
}

/** Where history is asked: the client's server, fetch and token. */
export type HistoryDeps = ServerHttp;

const isOffset = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;

/** Fetches one page; bad arguments are refused before any request (`invalid_channel`, `bad_request`). */
export async function fetchHistory<E extends EventMap = UntypedEvents>(
  deps: HistoryDeps,
  channel: string,
  options: HistoryOptions = {},
): Promise<HistoryPage<E>> {
  if (!isValidChannel(channel)) throw new TetherError(ErrorCode.InvalidChannel, `invalid channel name '${channel}'`);
  const query = new URLSearchParams({ channel });
  for (const key of ['before', 'limit'] as const) {
    const value = options[key];
    if (value === undefined) continue;
    if (!isOffset(value)) throw new TetherError(ErrorCode.BadRequest, `history: ${key} must be a whole number ≥ 1`);
    query.set(key, String(value));
  }
  if (options.relevant !== undefined) query.set('relevant', String(options.relevant === true));
  const body = await callServer(deps, {
    method: 'GET',
    path: `/v1/history?${query.toString()}`,
    what: 'history',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return pageOf<E>(channel, body);
}

/** The answer, checked with the socket frames' envelope guard. */
function pageOf<E extends EventMap>(channel: string, body: unknown): HistoryPage<E> {
  const malformed = (): TetherError =>
    new TetherError(ErrorCode.ProtocolError, `malformed history answer for ${channel}`);
  if (!isRecord(body)) throw malformed();
  const { epoch, messages, next } = body;
  if (typeof epoch !== 'string' || epoch.length === 0 || !Array.isArray(messages)) throw malformed();
  if (next !== null && !isOffset(next)) throw malformed();
  const envelopes: unknown[] = messages;
  if (!envelopes.every(isEnvelope)) throw malformed();
  const typed = (envelopes as Envelope[]).map((envelope): Message => ({ channel, ...envelope }));
  return { channel, epoch, messages: typed as TypedMessage<E>[], next };
}
