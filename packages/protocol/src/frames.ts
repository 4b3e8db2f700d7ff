/**
 * Every frame of the wire protocol (docs/protocol.md), as zod schemas and the types inferred from
 * them. The server validates every inbound frame against these; the client validates what the
 * server sends. Channel names are checked against the grammar of `names.ts` here too.
 */
import { z } from 'zod';
import { MAX_ACK_WITHIN_MS, MAX_TOKEN_LENGTH } from './guards.js';
import { CHANNEL_PATTERN, TENANT_PATTERN } from './names.js';
import type {
  MembersFrame,
  PresenceChannelFrame,
  PresenceFrame,
  PresenceReply,
  ReadFrame,
  ReadNotice,
  ReadReply,
  TypingFrame,
  TypingNotice,
  UnreadFrame,
  UnreadReply,
} from './presence.js';

export const channelName = z.string().regex(CHANNEL_PATTERN, 'invalid channel name');
export const tenantName = z.string().regex(TENANT_PATTERN, 'invalid tenant name');
export const offsetNumber = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const epochId = z.string().min(1).max(64);
export const messageId = z.string().min(1).max(128);
export const messageType = z.string().min(1).max(100);
export const tokenText = z.string().min(1).max(MAX_TOKEN_LENGTH);
/** Milliseconds. */
export const ttlMs = z
  .number()
  .int()
  .min(1)
  .max(366 * 24 * 3600 * 1000);

/**
 * Delivery priority of a message. It never reorders a channel; on resume and in a poll answer,
 * channels with higher-priority messages pending are replayed first. Absent means `normal` (the
 * server leaves `normal` off the wire).
 */
export const messagePriority = z.enum(['high', 'normal', 'low']);
export type MessagePriority = z.infer<typeof messagePriority>;

/**
 * An object keyed by channel name. zod drops a `__proto__` key from a record without a word (as a
 * plain object key it would set the prototype), which would make a frame lose a channel silently;
 * it is refused as the invalid channel name it is instead (see `CHANNEL_PATTERN`).
 */
function channelRecord<V extends z.ZodType>(value: V) {
  return z.preprocess(
    (input, ctx) => {
      if (typeof input === 'object' && input !== null && Object.prototype.hasOwnProperty.call(input, '__proto__')) {
        ctx.addIssue({ code: 'custom', message: 'invalid channel name', path: ['__proto__'], input });
      }
      return input;
    },
    z.record(channelName, value),
  );
}

/** A position in a channel: the offset last handled, in the log's life named by `epoch`. */
export const positionSchema = z.strictObject({ epoch: epochId.optional(), offset: offsetNumber });
export type Position = z.infer<typeof positionSchema>;

/** Positions by channel, as a client keeps them. */
export const positionsSchema = channelRecord(positionSchema);
export type Positions = z.infer<typeof positionsSchema>;

/** One message as it travels to clients (the channel is named once per frame). */
export const envelopeSchema = z.strictObject({
  id: messageId,
  offset: offsetNumber.min(1),
  type: messageType,
  data: z.unknown(),
  ts: z.number(),
  ttl: ttlMs.optional(),
  critical: z.boolean().optional(),
  collapseKey: z.string().min(1).max(200).optional(),
  priority: messagePriority.optional(),
  /**
   * When the message stops being relevant, ms since the Unix epoch (server clock): `ts` plus the
   * shorter of its own `ttl` and its type's rule. Present whenever a ttl applies; the SDK drops a
   * message that arrives after it.
   */
  expiresAt: z.number().optional(),
  /**
   * Earlier offsets of the channel this message makes irrelevant by the relevance rules (it
   * supersedes or collapses them), as live fan-out knew them: an SDK that has not handled one of
   * them yet when this message is already in hand skips it. At most 64, newest first.
   */
  supersedes: z.array(offsetNumber.min(1)).max(64).optional(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

/** A message with its channel, as the app's handler sees it. */
export interface Message extends Envelope {
  channel: string;
}

// ---- handshake ---------------------------------------------------------------------------------

export const handshakeAuthSchema = z.object({
  token: tokenText,
  deviceId: z.string().min(1).max(128).optional(),
  positions: positionsSchema.optional(),
});
export type HandshakeAuth = z.infer<typeof handshakeAuthSchema>;

// ---- client → server ---------------------------------------------------------------------------

export const subFrameSchema = z.strictObject({ channel: channelName, since: positionSchema.optional() });
export type SubFrame = z.infer<typeof subFrameSchema>;

export const unsubFrameSchema = z.strictObject({ channel: channelName });
export type UnsubFrame = z.infer<typeof unsubFrameSchema>;

/**
 * A publish's own push policy: `true` pushes with the server's default `ackWithin`, `{ackWithin}`
 * with its own (ms after publish, at most a day). The push fallback (docs/push.md) pushes the
 * message to a user no device of whom acked it in that time, or who had no live connection.
 */
export const publishPush = z.union([
  z.boolean(),
  z.strictObject({ ackWithin: z.number().int().min(1).max(MAX_ACK_WITHIN_MS) }),
]);
export type PublishPush = z.infer<typeof publishPush>;

export const publishFields = {
  channel: channelName,
  type: messageType,
  data: z.unknown(),
  ttl: ttlMs.optional(),
  critical: z.boolean().optional(),
  collapseKey: z.string().min(1).max(200).optional(),
  priority: messagePriority.optional(),
  push: publishPush.optional(),
};

export const pubFrameSchema = z.strictObject({ ...publishFields, id: messageId });
export type PubFrame = z.infer<typeof pubFrameSchema>;

export const ackFrameSchema = z.strictObject({ acks: channelRecord(offsetNumber) });
export type AckFrame = z.infer<typeof ackFrameSchema>;

export const refreshFrameSchema = z.strictObject({ token: tokenText });
export type RefreshFrame = z.infer<typeof refreshFrameSchema>;

/** The SDK's RTT probe: the server answers at once with its clock, so the client measures the round trip. */
export const probeFrameSchema = z.strictObject({ ts: z.number() });
export type ProbeFrame = z.infer<typeof probeFrameSchema>;

// ---- server → client ---------------------------------------------------------------------------

/**
 * Messages of one channel, in offset order. `upTo`, when present, is the position the client may
 * advance to after handling the batch: replayed batches carry it so that offsets skipped by the
 * relevance rules still move the position. `from`, when present (live and redelivered frames that
 * skipped something), is the first offset the frame covers: it applies only once the position has
 * reached `from - 1`; without it, a frame with `upTo` answers a read from the client's position.
 */
export const msgFrameSchema = z.strictObject({
  channel: channelName,
  epoch: epochId,
  messages: z.array(envelopeSchema),
  upTo: offsetNumber.optional(),
  from: offsetNumber.min(1).optional(),
});
export type MsgFrame = z.infer<typeof msgFrameSchema>;

/** The client's position is gone (out of retention, or the log's epoch changed): reload state. */
export const resyncFrameSchema = z.strictObject({ channel: channelName, epoch: epochId, offset: offsetNumber });
export type ResyncFrame = z.infer<typeof resyncFrameSchema>;

export const errorFrameSchema = z.object({
  code: z.string(),
  message: z.string(),
  channel: z.string().optional(),
});
export type ErrorFrame = z.infer<typeof errorFrameSchema>;

/** Replies given through Socket.IO acknowledgement callbacks: a result, or `{ error }`. */
export type Reply<T> = T | { error: { code: string; message: string } };
export interface SubReply {
  channel: string;
  epoch: string;
  /** The position from which live messages follow (everything up to it was replayed or skipped). */
  offset: number;
}
export interface PubReply {
  offset: number;
  epoch: string;
}
export interface ProbeReply {
  /** The client's `ts`, echoed. */
  ts: number;
  /** The server's clock, ms since the Unix epoch. */
  serverTs: number;
}
export interface RefreshReply {
  /** The new token's expiry, in seconds since the epoch, if it has one. */
  exp?: number;
}

/** Socket.IO event map, server → client. */
export interface ServerToClientEvents {
  msg: (frame: MsgFrame) => void;
  resync: (frame: ResyncFrame) => void;
  error: (frame: ErrorFrame) => void;
  presence: (frame: PresenceChannelFrame) => void;
  typing: (frame: TypingNotice) => void;
  read: (frame: ReadNotice) => void;
}

/** Socket.IO event map, client → server (payloads are validated: typed `unknown` on the server). */
export interface ClientToServerEvents {
  sub: (frame: SubFrame, reply?: (r: Reply<SubReply>) => void) => void;
  unsub: (frame: UnsubFrame, reply?: (r: Reply<Record<string, never>>) => void) => void;
  pub: (frame: PubFrame, reply?: (r: Reply<PubReply>) => void) => void;
  ack: (frame: AckFrame) => void;
  refresh: (frame: RefreshFrame, reply?: (r: Reply<RefreshReply>) => void) => void;
  probe: (frame: ProbeFrame, reply?: (r: Reply<ProbeReply>) => void) => void;
  presence: (frame: PresenceFrame, reply?: (r: Reply<PresenceReply>) => void) => void;
  typing: (frame: TypingFrame, reply?: (r: Reply<Record<string, never>>) => void) => void;
  read: (frame: ReadFrame, reply?: (r: Reply<ReadReply>) => void) => void;
  unread: (frame: UnreadFrame, reply?: (r: Reply<UnreadReply>) => void) => void;
  members: (frame: MembersFrame, reply?: (r: Reply<PresenceChannelFrame>) => void) => void;
}

// ---- HTTP --------------------------------------------------------------------------------------

export const httpPublishSchema = z.strictObject({
  ...publishFields,
  id: messageId.optional(),
  tenant: tenantName.optional(),
});
export type HttpPublishBody = z.infer<typeof httpPublishSchema>;

export const httpPollSchema = z.strictObject({
  /** A `null` position asks "where is now?": the answer is `{epoch, messages: [], upTo: head}`. */
  positions: channelRecord(positionSchema.nullable()).default({}),
  /** Long-poll: seconds to wait for something new (0 answers at once). */
  wait: z.number().min(0).max(60).optional(),
});
export type HttpPollBody = z.infer<typeof httpPollSchema>;

export const httpAckSchema = z.strictObject({
  acks: channelRecord(offsetNumber),
  deviceId: z.string().min(1).max(128).optional(),
});
export type HttpAckBody = z.infer<typeof httpAckSchema>;

export interface PollChannelMessages {
  epoch: string;
  messages: Envelope[];
  upTo: number;
}
export interface PollChannelResync {
  resync: { epoch: string; offset: number };
}
export interface PollResponse {
  channels: Record<string, PollChannelMessages | PollChannelResync>;
}

/** A whole number in a query string (`?before=120`): digits only, no sign, no exponent. */
const queryOffset = z
  .string()
  .regex(/^\d{1,16}$/, 'must be a whole number')
  .transform(Number)
  .pipe(offsetNumber.min(1));

/**
 * `GET /v1/history?channel=…&before=…&limit=…&relevant=true`: the messages before offset `before`
 * (exclusive; default: after the head), newest first, at most `limit` (default and most:
 * `maxHistoryLimit`); with `relevant=true` only those the static relevance rules still keep (the
 * final state: an edited or deleted message's earlier versions left out).
 */
export const httpHistoryQuerySchema = z.strictObject({
  channel: channelName,
  before: queryOffset.optional(),
  limit: queryOffset.optional(),
  relevant: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
});
export type HttpHistoryQuery = z.infer<typeof httpHistoryQuerySchema>;

export interface HistoryResponse {
  channel: string;
  /** The log's life the offsets belong to: a page of another epoch does not continue this one. */
  epoch: string;
  /** Newest first; unfiltered by the relevance rules (what the log still holds) unless `relevant=true`. */
  messages: Envelope[];
  /** `before` for the next (older) page; null once retention's start is reached. */
  next: number | null;
}
