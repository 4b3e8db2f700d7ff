/**
 * A question every other node of the cluster answers from its own memory: a Socket.IO server-side
 * emit with an acknowledgement, through the Redis adapter (nothing is written per connection or
 * per ack). Used by the push fallback ("is this user connected, did it ack?") and by the trace
 * ("where does each device of this user stand?"). A node that does not answer in time is left out
 * and the answer says it is incomplete.
 */
import type { Server as SocketIOServer } from 'socket.io';
import type { Logger } from 'pino';

export interface NodeAnswers<A> {
  answers: A[];
  /** False when some node did not answer in time (or the question could not be sent). */
  complete: boolean;
}

export class NodeQuery<Q, A> {
  constructor(
    /** The Socket.IO server whose adapter reaches the other nodes. */
    private readonly io: SocketIOServer,
    /** The server-side event, one per kind of question. */
    private readonly event: string,
    private readonly isQuestion: (value: unknown) => value is Q,
    private readonly isAnswer: (value: unknown) => value is A,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** Answers the other nodes' questions with `answer` (this node's own view). */
  answerWith(answer: (question: Q) => A | Promise<A>): void {
    this.io.on(this.event, (question: unknown, reply: unknown) => {
      if (typeof reply !== 'function' || !this.isQuestion(question)) return;
      Promise.resolve(answer(question)).then(
        (a) => (reply as (answer: A) => void)(a),
        (err: unknown) => this.log.warn({ err, event: this.event }, 'answering a node query failed'),
      );
    });
  }

  /** The other nodes' answers (this node's own is not among them). */
  askOthers(question: Q): Promise<NodeAnswers<A>> {
    return new Promise((resolve) => {
      // The adapter's own wait is fixed (5 s): ours is shorter, and whatever answered by then counts.
      const timer = setTimeout(() => resolve({ answers: [], complete: false }), this.timeoutMs);
      const failed = (err: unknown): void => {
        clearTimeout(timer);
        this.log.warn({ err, event: this.event }, 'node query failed');
        resolve({ answers: [], complete: false });
      };
      const reply = (err: Error | null, answers: unknown[]): void => {
        clearTimeout(timer);
        if (err) this.log.debug({ err, event: this.event }, 'a node did not answer in time');
        resolve({ answers: (answers ?? []).filter(this.isAnswer), complete: !err });
      };
      try {
        // The adapter itself, not `io.serverSideEmit`: the sharded adapter's emit is async and its
        // rejection (Redis away) would otherwise go unhandled.
        const sent: unknown = this.io.of('/').adapter.serverSideEmit([this.event, question, reply]);
        if (sent instanceof Promise) sent.catch(failed);
      } catch (err) {
        failed(err);
      }
    });
  }
}
