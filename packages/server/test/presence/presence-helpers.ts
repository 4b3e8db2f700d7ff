/** Test helpers for presence: a client that records its `presence` frames, and the two presence requests. */
import {
  presenceMemberOf,
  type PresenceChannelFrame,
  type PresenceMember,
  type PresenceMemberEntry,
  type PresenceReply,
  type Reply,
} from '@tether/protocol';
import { connectClient, waitUntil, type ConnectOptions, type TestClient, type TestServer } from '@tether/testing';

/** A presence frame with its entries read as members (the wire's short form undone). */
export interface ReadPresenceFrame extends PresenceChannelFrame {
  members?: PresenceMember[];
  join?: PresenceMember[];
  update?: PresenceMember[];
}

export interface PresenceClient extends TestClient {
  /** Every `presence` frame received, in order, entries read as members (as the SDK reads them). */
  readonly frames: ReadPresenceFrame[];
  /** The same frames as they came over the wire. */
  readonly wireFrames: PresenceChannelFrame[];
  /** Resolves with the first frame at or after index `from` that matches. */
  frame(match: (f: ReadPresenceFrame) => boolean, from?: number, timeoutMs?: number): Promise<ReadPresenceFrame>;
  status(frame: unknown): Promise<Reply<PresenceReply>>;
  members(channel: unknown): Promise<Reply<PresenceChannelFrame>>;
}

export async function presenceClient(
  srv: TestServer,
  claims: Parameters<TestServer['token']>[0],
  options: ConnectOptions = {},
): Promise<PresenceClient> {
  const c = await connectClient(srv.url, await srv.token(claims), options);
  const frames: ReadPresenceFrame[] = [];
  const wireFrames: PresenceChannelFrame[] = [];
  c.socket.on('presence', (f) => {
    wireFrames.push(f);
    frames.push(readFrame(f));
  });
  const raw = c.socket as unknown as { emit(event: string, ...args: unknown[]): unknown };
  const ask = <T>(event: string, payload: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${event} reply`)), 5000);
      raw.emit(event, payload, (r: T) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  return Object.assign(c, {
    frames,
    wireFrames,
    frame: (match: (f: ReadPresenceFrame) => boolean, from = 0, timeoutMs = 5000) =>
      waitUntil(() => frames.slice(from).find(match), timeoutMs, 'a presence frame'),
    status: (frame: unknown) => ask<Reply<PresenceReply>>('presence', frame),
    members: (channel: unknown) =>
      ask<Reply<PresenceChannelFrame>>('members', typeof channel === 'string' ? { channel } : channel),
  });
}

/** A frame with its entries read as members. */
export function readFrame(frame: PresenceChannelFrame): ReadPresenceFrame {
  const { members, join, update, ...rest } = frame;
  const read: ReadPresenceFrame = { ...rest };
  if (members) read.members = members.map(presenceMemberOf);
  if (join) read.join = join.map(presenceMemberOf);
  if (update) read.update = update.map(presenceMemberOf);
  return read;
}

/** Diffs only (no snapshots), of one channel. */
export const diffsOf = (frames: readonly ReadPresenceFrame[], channel: string): ReadPresenceFrame[] =>
  frames.filter((f) => f.channel === channel && f.members === undefined);

export const subsOf = (members: readonly PresenceMemberEntry[] | undefined): string[] =>
  (members ?? []).map((m) => presenceMemberOf(m).sub).sort();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
