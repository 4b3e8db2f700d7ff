/** Test helpers for presence: a client that records its `presence` frames, and the two presence requests. */
import type { PresenceChannelFrame, PresenceMember, PresenceReply, Reply } from '@tether/protocol';
import { connectClient, waitUntil, type ConnectOptions, type TestClient, type TestServer } from '@tether/testing';

export interface PresenceClient extends TestClient {
  /** Every `presence` frame received, in order. */
  readonly frames: PresenceChannelFrame[];
  /** Resolves with the first frame at or after index `from` that matches. */
  frame(match: (f: PresenceChannelFrame) => boolean, from?: number, timeoutMs?: number): Promise<PresenceChannelFrame>;
  status(frame: unknown): Promise<Reply<PresenceReply>>;
  members(channel: unknown): Promise<Reply<PresenceChannelFrame>>;
}

export async function presenceClient(
  srv: TestServer,
  claims: Parameters<TestServer['token']>[0],
  options: ConnectOptions = {},
): Promise<PresenceClient> {
  const c = await connectClient(srv.url, await srv.token(claims), options);
  const frames: PresenceChannelFrame[] = [];
  c.socket.on('presence', (f) => frames.push(f));
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
    frame: (match: (f: PresenceChannelFrame) => boolean, from = 0, timeoutMs = 5000) =>
      waitUntil(() => frames.slice(from).find(match), timeoutMs, 'a presence frame'),
    status: (frame: unknown) => ask<Reply<PresenceReply>>('presence', frame),
    members: (channel: unknown) =>
      ask<Reply<PresenceChannelFrame>>('members', typeof channel === 'string' ? { channel } : channel),
  });
}

/** Diffs only (no snapshots), of one channel. */
export const diffsOf = (frames: readonly PresenceChannelFrame[], channel: string): PresenceChannelFrame[] =>
  frames.filter((f) => f.channel === channel && f.members === undefined);

export const subsOf = (members: readonly PresenceMember[] | undefined): string[] =>
  (members ?? []).map((m) => m.sub).sort();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
