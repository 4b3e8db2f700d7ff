/**
 * "Is this user connected anywhere, and how far did any of its devices ack this stream?" — asked
 * of every node when a push is decided. Each node answers from its own connections and ack
 * ledger; in a cluster the question goes to the other nodes as a Socket.IO server-side emit with
 * an acknowledgement (through the Redis adapter), so nothing is written per connection or per
 * ack (cluster/node-query.ts). A node that does not answer in time makes the answer uncertain: the caller then assumes
 * the user is connected (the push waits for `ackWithin`) and did not ack (the push goes out).
 */
import type { Server as SocketIOServer } from 'socket.io';
import type { Logger } from 'pino';
import { NodeQuery } from '../cluster/node-query.js';

export interface UserStateQuestion {
  tenant: string;
  sub: string;
  stream: string;
}

export interface UserState {
  /** A device of the user has a socket connection to some node. */
  live: boolean;
  /** The highest offset of the stream any device of the user acked (0: none known). */
  acked: number;
  /** False when some node did not answer in time. */
  complete: boolean;
}

const EVENT = 'tether:push-user-state';

/** Live socket connections by user, on this node. */
export class LiveUsers {
  private readonly counts = new Map<string, number>();

  add(tenant: string, sub: string): void {
    const key = userKey(tenant, sub);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  remove(tenant: string, sub: string): void {
    const key = userKey(tenant, sub);
    const count = (this.counts.get(key) ?? 0) - 1;
    if (count > 0) this.counts.set(key, count);
    else this.counts.delete(key);
  }

  has(tenant: string, sub: string): boolean {
    return this.counts.has(userKey(tenant, sub));
  }
}

export class UserStateQuery {
  private readonly others: NodeQuery<UserStateQuestion, Omit<UserState, 'complete'>> | undefined;

  constructor(
    private readonly local: (question: UserStateQuestion) => Omit<UserState, 'complete'>,
    /** The Socket.IO server whose adapter reaches the other nodes; undefined on a single node. */
    io: SocketIOServer | undefined,
    timeoutMs: number,
    log: Logger,
  ) {
    this.others = io ? new NodeQuery(io, EVENT, isQuestion, isAnswer, timeoutMs, log) : undefined;
    this.others?.answerWith((question) => this.local(question));
  }

  async ask(question: UserStateQuestion): Promise<UserState> {
    const own = { ...this.local(question), complete: true };
    if (!this.others) return own;
    const others = await this.others.askOthers(question);
    return {
      live: own.live || others.answers.some((a) => a.live),
      acked: Math.max(own.acked, ...others.answers.map((a) => a.acked)),
      complete: others.complete,
    };
  }
}

function userKey(tenant: string, sub: string): string {
  return `${tenant}\u0000${sub}`;
}

function isQuestion(value: unknown): value is UserStateQuestion {
  const q = value as Partial<UserStateQuestion> | null;
  return typeof q === 'object' && q !== null && [q.tenant, q.sub, q.stream].every((v) => typeof v === 'string');
}

function isAnswer(value: unknown): value is Omit<UserState, 'complete'> {
  const a = value as Partial<UserState> | null;
  return typeof a === 'object' && a !== null && typeof a.live === 'boolean' && typeof a.acked === 'number';
}
